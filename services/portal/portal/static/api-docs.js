// Swagger UI from the pinned swagger-ui-dist package, served by the portal.
window.addEventListener("load", function () {
  "use strict";
  var el = document.getElementById("swagger-ui");
  if (el && window.SwaggerUIBundle) {
    window.SwaggerUIBundle({ url: el.getAttribute("data-url"), dom_id: "#swagger-ui" });
  }
});
