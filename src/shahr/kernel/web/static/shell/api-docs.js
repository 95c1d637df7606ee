// Swagger UI over /openapi.json, from our own copy of swagger-ui-dist (no CDN, no inline script).
const host = document.getElementById("swagger-ui");
const status = document.getElementById("api-docs-status");
const strings = JSON.parse(document.getElementById("api-docs-strings")?.textContent || "{}");
const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content || "";
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

if (host && typeof window.SwaggerUIBundle === "function") {
  window.SwaggerUIBundle({
    url: host.dataset.specUrl,
    domNode: host,
    deepLinking: true,
    // The public validator badge would call another site; the CSP refuses it anyway.
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // "Try it out" from a signed-in browser passes the CSRF check like any form of ours.
    requestInterceptor: (request) => {
      if (UNSAFE.has(String(request.method).toUpperCase()) && csrfToken) {
        request.headers["X-CSRF-Token"] = csrfToken;
      }
      return request;
    },
  });
} else if (status) {
  status.textContent = strings.noViewer || "";
  status.classList.add("notice");
}
