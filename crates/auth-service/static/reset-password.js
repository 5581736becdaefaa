// The password-reset page: the token comes in the link (?token=...), the new password from
// the form; both go to POST /api/v1/auth/password-reset/confirm on this origin.
(function () {
  "use strict";
  var form = document.getElementById("reset");
  var message = document.getElementById("message");
  var token = new URLSearchParams(window.location.search).get("token") || "";
  // The token leaves the address bar (and the history) at once.
  if (window.history && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname);
  }
  function say(text, ok) {
    message.textContent = text;
    message.className = ok ? "ok" : "error";
  }
  if (!token) {
    form.hidden = true;
    say("This link has no reset token. Ask for a new link.", false);
    return;
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var password = document.getElementById("password").value;
    if (password !== document.getElementById("again").value) {
      say("The two passwords differ.", false);
      return;
    }
    say("Setting the password…", true);
    fetch("/api/v1/auth/password-reset/confirm", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: token, new_password: password }),
      credentials: "omit"
    }).then(function (res) {
      if (res.status === 204) {
        form.hidden = true;
        say("Your password is set. Every session was signed out: sign in with the new password.", true);
        return;
      }
      return res.json().then(function (body) {
        say(body && body.detail ? body.detail : "The password could not be set (" + res.status + ").", false);
      }, function () {
        say("The password could not be set (" + res.status + ").", false);
      });
    }, function () {
      say("The service did not answer. Try again.", false);
    });
  });
})();
