//! The pages' one stylesheet and one script, served from the binary (the
//! CSP allows nothing inline). The script: copy buttons, the install form
//! (JSON to `/api/install`, token shown once) and the status page's
//! self-refresh. Every page also works without it, except copying.

use axum::{http::header, response::IntoResponse};

pub async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS)
}

pub async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
}

const CSS: &str = r#"
:root { --fg:#1b1f24; --muted:#57606a; --bg:#fff; --line:#d0d7de; --accent:#0b5cad; --ok:#1a7f37; --warn:#9a6700; --err:#cf222e; }
* { box-sizing: border-box; }
body { margin:0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
.skip { position:absolute; left:-999px; } .skip:focus { left:8px; top:8px; background:#fff; padding:4px; }
header.top { display:flex; gap:24px; align-items:center; padding:12px 24px; border-bottom:1px solid var(--line); background:#f6f8fa; flex-wrap:wrap; }
.brand { font-weight:600; }
nav { display:flex; gap:16px; align-items:center; }
nav a { color:var(--accent); text-decoration:none; padding:4px 2px; }
nav a[aria-current=page] { font-weight:600; border-bottom:2px solid var(--accent); }
main { max-width:1100px; margin:0 auto; padding:16px 24px 48px; }
h1 { font-size:1.6rem; } h2 { font-size:1.2rem; margin-top:28px; }
.field { margin:12px 0; } label { display:block; font-weight:600; margin-bottom:4px; }
label.check { font-weight:400; }
input[type=text], input[type=password], input[type=number], input[type=search] { width:100%; max-width:560px; padding:8px; border:1px solid var(--line); border-radius:6px; font:inherit; }
input[readonly] { background:#f6f8fa; font-family: ui-monospace, monospace; }
button { font:inherit; padding:7px 14px; border-radius:6px; border:1px solid var(--accent); background:var(--accent); color:#fff; cursor:pointer; }
button.copy, button.replay { background:#fff; color:var(--accent); padding:3px 10px; }
button.copy[data-copied] { color:var(--ok); border-color:var(--ok); }
button.danger { background:var(--err); border-color:var(--err); }
button.link { background:none; border:none; color:var(--accent); padding:4px 2px; text-decoration:underline; }
button:focus-visible, a:focus-visible, input:focus-visible { outline:3px solid #54aeff; outline-offset:1px; }
form.inline { display:inline; }
fieldset { border:1px solid var(--line); border-radius:6px; margin:12px 0; max-width:600px; }
.help, .muted, .aside { color:var(--muted); font-size:.9rem; }
.error { color:var(--err); border-left:4px solid var(--err); padding:6px 12px; background:#fff5f5; }
.warn { color:var(--warn); border-left:4px solid var(--warn); padding:6px 12px; background:#fff8e5; }
.ok { color:var(--ok); border-left:4px solid var(--ok); padding:6px 12px; background:#f0fff4; }
.important { background:#ddf4ff; padding:8px 12px; border-radius:6px; }
.copyrow { margin:12px 0; } .copybox { display:flex; gap:8px; max-width:760px; } .copybox input { max-width:none; }
table { border-collapse:collapse; width:100%; margin:8px 0; font-size:.95rem; }
th, td { text-align:left; border-bottom:1px solid var(--line); padding:6px 8px; vertical-align:top; }
thead th { background:#f6f8fa; }
td.err { color:var(--err); min-width:220px; max-width:380px; overflow-wrap:break-word; }
code { font-family: ui-monospace, monospace; font-size:.9em; background:#f6f8fa; padding:1px 4px; border-radius:4px; }
.tag { font-size:.75rem; border:1px solid var(--line); border-radius:10px; padding:0 6px; color:var(--muted); }
.badge { font-size:.85rem; border-radius:10px; padding:1px 8px; color:#fff; }
.badge.in-sync { background:var(--ok); } .badge.pending, .badge.waiting { background:var(--warn); } .badge.failed { background:var(--err); }
dl.counts { display:flex; gap:16px; flex-wrap:wrap; }
dl.counts div { border:1px solid var(--line); border-radius:8px; padding:8px 16px; min-width:120px; }
dl.counts dt { color:var(--muted); font-size:.85rem; } dl.counts dd { margin:0; font-size:1.6rem; font-weight:600; }
ol.steps li { margin:6px 0; }
.sr { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); }
[hidden] { display:none !important; }
"#;

const JS: &str = r#"
'use strict';
(function () {
  function copyText(text, button) {
    var done = function () {
      button.setAttribute('data-copied', '');
      button.textContent = 'Copied';
      setTimeout(function () { button.removeAttribute('data-copied'); button.textContent = 'Copy'; }, 4000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
    } else { fallback(text); done(); }
  }
  function fallback(text) {
    var t = document.createElement('textarea');
    t.value = text; t.setAttribute('readonly', ''); t.style.position = 'fixed'; t.style.opacity = '0';
    document.body.appendChild(t); t.select();
    try { document.execCommand('copy'); } catch (e) {}
    document.body.removeChild(t);
  }
  document.addEventListener('click', function (ev) {
    var b = ev.target.closest('button.copy');
    if (!b) return;
    var el = document.getElementById(b.getAttribute('data-copy'));
    if (!el) return;
    copyText(el.value !== undefined && el.tagName === 'INPUT' ? el.value : el.textContent, b);
  });

  var form = document.getElementById('install-form');
  if (form) {
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var err = document.getElementById('install-error');
      var submit = document.getElementById('install-submit');
      err.hidden = true; err.textContent = '';
      submit.disabled = true; submit.textContent = 'Checking with Freshservice…';
      fetch('/api/install', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
        body: JSON.stringify({
          domain: form.domain.value,
          api_key: form.api_key.value,
          replace: form.replace.checked
        })
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) { return { status: r.status, body: body }; });
      }).then(function (res) {
        submit.disabled = false; submit.textContent = 'Check and install';
        if (res.status === 201) {
          form.api_key.value = '';
          form.hidden = true;
          var aside = document.querySelector('.aside'); if (aside) aside.hidden = true;
          document.getElementById('token').value = res.body.bearer_token;
          document.getElementById('scim-base').value = res.body.scim_base_url;
          document.getElementById('result-h').textContent = 'Connected to ' + res.body.domain + '.freshservice.com';
          document.getElementById('replaced-note').hidden = !res.body.replaced;
          var result = document.getElementById('result');
          result.hidden = false;
          document.getElementById('token').focus();
          return;
        }
        if (res.body.error === 'already_installed') {
          document.getElementById('replace-field').hidden = false;
        }
        err.textContent = res.body.message || ('The bridge answered HTTP ' + res.status + '. Try again.');
        err.setAttribute('data-code', res.body.error || '');
        err.hidden = false;
        err.focus && err.focus();
      }).catch(function () {
        submit.disabled = false; submit.textContent = 'Check and install';
        err.textContent = 'Could not reach the bridge. Check your connection and try again.';
        err.hidden = false;
      });
    });
  }

  var live = document.getElementById('live');
  if (live) {
    var every = parseInt(live.getAttribute('data-refresh-ms'), 10) || 5000;
    setInterval(function () {
      if (document.hidden) return;
      if (live.contains(document.activeElement) && document.activeElement.tagName !== 'BODY') return;
      fetch(location.href, { headers: { 'Accept': 'text/html' }, credentials: 'same-origin' })
        .then(function (r) { if (r.ok && r.url.indexOf('/signin') < 0) return r.text(); })
        .then(function (html) {
          if (!html) return;
          var doc = new DOMParser().parseFromString(html, 'text/html');
          var fresh = doc.getElementById('live');
          if (fresh) { live.innerHTML = fresh.innerHTML; live.setAttribute('data-refreshed', String(Date.now())); }
        }).catch(function () {});
    }, every);
  }
})();
"#;
