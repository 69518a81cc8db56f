'use strict';

// Step 01: the server serves this page, and this script runs in it.
// Every later step grows from here.

const statusText = document.getElementById('status');

// Shows what the page is doing, in words, and logs it for the console.
function setStatus(text) {
  statusText.textContent = text;
  console.log(`status: ${text}`);
}

setStatus('The page is served by the Rust server. Ready.');
