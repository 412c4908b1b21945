/* Loaded only on a page that shows form errors (pages without errors carry no script).
   Everything works without this file. */
(function () {
  "use strict";
  // After a form came back with errors, take the keyboard and the screen reader to the summary.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }
})();
