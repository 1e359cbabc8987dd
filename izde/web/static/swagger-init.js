// The API documentation, from the installed swagger-ui-bundle package (no CDN): a file, so the page needs no
// inline script and the Content-Security-Policy can forbid them.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
});
