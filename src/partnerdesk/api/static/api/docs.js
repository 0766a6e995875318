// Starts Swagger UI on /api/v1/docs. A file of its own, not an inline script: the site's
// Content-Security-Policy allows scripts from this origin only.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  var csrfToken = root.dataset.csrfToken;
  window.SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    // No badge fetched from the public validator: the page works offline.
    validatorUrl: null,
    requestInterceptor: function (request) {
      // "Try it out" with the portal's session cookie needs the CSRF token on writes.
      if (csrfToken) {
        request.headers["X-CSRFToken"] = csrfToken;
      }
      return request;
    },
  });
})();
