"""Identity's pages: sign-in and the citizen's account (`account`), a vehicle's plate and
disability permit (`vehicles`), the admin's lists of staff accounts and citizens
(`directory`), and staff reviewing disability permits (`permits`)."""

from fastapi import APIRouter

from shahr.identity.pages import account, directory, permits, vehicles

router = APIRouter()
router.include_router(account.router)
router.include_router(vehicles.router)
router.include_router(directory.router)
router.include_router(permits.router)

__all__ = ["router"]
