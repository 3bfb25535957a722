// Shows this server's own address in the curl examples.
"use strict";
for (const el of document.querySelectorAll(".origin")) {
  el.textContent = window.location.origin;
}
