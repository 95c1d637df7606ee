"""Identity's pages: sign-in and the citizen's account (`account`), and the admin's lists of
staff accounts and citizens (`directory`)."""

from fastapi import APIRouter

from shahr.identity.pages import account, directory

router = APIRouter()
router.include_router(account.router)
router.include_router(directory.router)

__all__ = ["router"]
