// Siegel's public verification page. Everything the page shows that comes from outside (the address,
// the chain, a file name, a receipt) is put into the page as text (textContent), never as markup; the
// server's Content-Security-Policy forbids inline script and requires Trusted Types, so a slip here
// would fail loudly rather than run someone else's code.
'use strict';

(() => {
  const TEXT = {
    de: {
      pageTitle: 'Siegel – Dokument prüfen',
      skip: 'Zum Inhalt springen',
      switchLang: 'English',
      switchLangLabel: 'Switch to English',
      title: 'Ist mein Dokument echt?',
      intro: 'Prüfen Sie, ob ein Dokument von einer registrierten Behörde ausgestellt und nicht widerrufen wurde.',
      fileHeading: 'Datei prüfen',
      fileLabel: 'Datei auswählen oder hierher ziehen',
      privacy: 'Die Datei verlässt Ihren Computer nicht: Ihr Browser berechnet nur ihren Fingerabdruck (SHA-256), und nur dieser wird geprüft.',
      hashHeading: 'Fingerabdruck eingeben',
      hashLabel: 'SHA-256-Fingerabdruck (64 Zeichen 0–9, a–f), z. B. aus einem QR-Code',
      check: 'Prüfen',
      receiptHeading: 'Nachweis',
      receiptIntro: 'Der Nachweis ist eine Datei, mit der jeder das Ergebnis später und ohne diesen Server prüfen kann.',
      download: 'Nachweis herunterladen',
      verify: 'Nachweis im Browser prüfen',
      receiptFileHeading: 'Nachweis-Datei prüfen',
      receiptFileLabel: 'Eine heruntergeladene Nachweis-Datei (JSON) auswählen',
      footer: 'Nur Fingerabdrücke und Prüfwerte stehen in der Kette, nie personenbezogene Daten.',
      api: 'Öffentliche Schnittstelle (OpenAPI)',
      badHash: 'Das ist kein gültiger Fingerabdruck: erwartet werden genau 64 Zeichen 0–9 und a–f.',
      hashing: 'Fingerabdruck wird berechnet …',
      fileInfo: (name, size) => `Datei „${name}“ (${size}), Fingerabdruck:`,
      noCrypto: 'Ihr Browser kann hier keine Fingerabdrücke berechnen (nur über HTTPS möglich). Bitte geben Sie den Fingerabdruck ein.',
      checking: 'Wird geprüft …',
      genuine: 'Echt',
      genuineText: (agency, date) => `Dieses Dokument wurde von ${agency} am ${date} registriert und ist gültig.`,
      revoked: 'Widerrufen',
      revokedText: (agency, date, rdate, reason) => `Dieses Dokument wurde von ${agency} am ${date} registriert, aber am ${rdate} widerrufen. Grund: ${reason}.`,
      successor: 'Es wurde ersetzt durch:',
      unknown: 'Unbekannt',
      unknownText: 'Zu diesem Fingerabdruck ist kein Dokument registriert. Das Dokument wurde entweder nicht über Siegel ausgestellt oder es wurde verändert – schon ein geändertes Zeichen ergibt einen anderen Fingerabdruck.',
      fingerprint: 'Fingerabdruck',
      agency: 'Ausgestellt von',
      registered: 'Registriert',
      block: 'Block',
      failed: 'Die Prüfung ist fehlgeschlagen. Bitte versuchen Sie es später erneut.',
      limited: (s) => `Zu viele Anfragen. Bitte versuchen Sie es in ${s} Sekunden erneut.`,
      reasons: { 1: 'durch ein neueres Dokument ersetzt', 2: 'irrtümlich ausgestellt', 3: 'von der ausstellenden Stelle zurückgezogen', 4: 'der Signaturschlüssel der Behörde war möglicherweise kompromittiert' },
      verifying: 'Nachweis wird in Ihrem Browser geprüft …',
      receiptValid: (state, height, date) => `Nachweis gültig: Die Validatoren des Netzes bestätigen den Zustand „${state}“ (Stand: Block ${height}, ${date}). Geprüft in Ihrem Browser gegen die Gründungs-Validatoren des Netzes.`,
      receiptInvalid: (err) => `Nachweis ungültig: ${err}`,
      receiptOther: (hash) => `Dieser Nachweis gilt für ein anderes Dokument (${hash}).`,
      receiptUnavailable: 'Die Prüfung im Browser ist auf diesem Server nicht verfügbar.',
      states: { anchored: 'echt', revoked: 'widerrufen', unknown: 'unbekannt' },
      metaHeading: 'Angaben zum Dokument',
      metaSigned: (agency) => `Diese Angaben sind von ${agency} signiert und stimmen mit dem Prüfwert überein, der zu diesem Dokument in der Kette steht.`,
      metaPending: 'Die ausstellende Stelle hat Angaben zu diesem Dokument hinterlegt. Sie liegen diesem Server noch nicht vor (noch nicht empfangen) oder sind nicht öffentlich.',
    },
    en: {
      pageTitle: 'Siegel – check a document',
      skip: 'Skip to content',
      switchLang: 'Deutsch',
      switchLangLabel: 'Auf Deutsch umschalten',
      title: 'Is my document genuine?',
      intro: 'Check whether a document was issued by a registered agency and has not been revoked.',
      fileHeading: 'Check a file',
      fileLabel: 'Choose a file or drop it here',
      privacy: 'The file never leaves your computer: your browser only computes its fingerprint (SHA-256), and only that is checked.',
      hashHeading: 'Enter a fingerprint',
      hashLabel: 'SHA-256 fingerprint (64 characters 0–9, a–f), e.g. from a QR code',
      check: 'Check',
      receiptHeading: 'Receipt',
      receiptIntro: 'The receipt is a file with which anyone can check this result later, without this server.',
      download: 'Download receipt',
      verify: 'Check receipt in the browser',
      receiptFileHeading: 'Check a receipt file',
      receiptFileLabel: 'Choose a downloaded receipt file (JSON)',
      footer: 'Only fingerprints and commitments are on the chain, never personal data.',
      api: 'Public API (OpenAPI)',
      badHash: 'This is not a valid fingerprint: exactly 64 characters 0–9 and a–f are expected.',
      hashing: 'Computing the fingerprint …',
      fileInfo: (name, size) => `File “${name}” (${size}), fingerprint:`,
      noCrypto: 'Your browser cannot compute fingerprints here (only over HTTPS). Please enter the fingerprint.',
      checking: 'Checking …',
      genuine: 'Genuine',
      genuineText: (agency, date) => `This document was registered by ${agency} on ${date} and is valid.`,
      revoked: 'Revoked',
      revokedText: (agency, date, rdate, reason) => `This document was registered by ${agency} on ${date}, but revoked on ${rdate}. Reason: ${reason}.`,
      successor: 'It was replaced by:',
      unknown: 'Unknown',
      unknownText: 'No document is registered with this fingerprint. Either it was not issued through Siegel, or it was altered: a single changed character gives a different fingerprint.',
      fingerprint: 'Fingerprint',
      agency: 'Issued by',
      registered: 'Registered',
      block: 'Block',
      failed: 'The check failed. Please try again later.',
      limited: (s) => `Too many requests. Please try again in ${s} seconds.`,
      reasons: { 1: 'superseded by a newer document', 2: 'issued in error', 3: 'withdrawn by the issuer', 4: 'the agency’s signing key may have been compromised' },
      verifying: 'Checking the receipt in your browser …',
      receiptValid: (state, height, date) => `Receipt valid: the network’s validators confirm the state “${state}” (as of block ${height}, ${date}). Checked in your browser against the network’s founding validators.`,
      receiptInvalid: (err) => `Receipt invalid: ${err}`,
      receiptOther: (hash) => `This receipt is for another document (${hash}).`,
      receiptUnavailable: 'The in-browser check is not available on this server.',
      states: { anchored: 'genuine', revoked: 'revoked', unknown: 'unknown' },
      metaHeading: 'Document details',
      metaSigned: (agency) => `These details are signed by ${agency} and match the commitment recorded on the chain for this document.`,
      metaPending: 'The issuer recorded details of this document. This server does not have them: not received yet, or not public.',
    },
  };

  // Labels of the well-known metadata keys, in the order the page shows them; other keys follow under
  // their own name, sorted. A Map, so that a key such as "constructor" or "__proto__" finds nothing.
  const META_LABELS = new Map([
    ['title', { de: 'Titel', en: 'Title' }],
    ['doc_type', { de: 'Dokumentart', en: 'Document type' }],
    ['issuer_office', { de: 'Ausstellende Stelle', en: 'Issuing office' }],
    ['valid_from', { de: 'Gültig ab', en: 'Valid from' }],
    ['valid_until', { de: 'Gültig bis', en: 'Valid until' }],
    ['language', { de: 'Sprache', en: 'Language' }],
  ]);
  const META_KEY = /^[a-z0-9_]{1,32}$/;
  const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

  const HEX64 = /^[0-9a-f]{64}$/;
  const $ = (id) => document.getElementById(id);
  let lang = pickLanguage();
  let shown = null; // what the result box shows: {kind, hash, view?, message?}

  function t(key) { return TEXT[lang][key]; }

  function pickLanguage() {
    let saved = null;
    try { saved = window.localStorage.getItem('siegel-lang'); } catch (_) { /* storage disabled */ }
    if (saved === 'de' || saved === 'en') return saved;
    for (const l of navigator.languages || [navigator.language || '']) {
      if (/^de\b/i.test(l)) return 'de';
      if (/^en\b/i.test(l)) return 'en';
    }
    return 'de';
  }

  function applyLanguage() {
    document.documentElement.lang = lang;
    document.title = t('pageTitle');
    for (const el of document.querySelectorAll('[data-i18n]')) {
      const v = TEXT[lang][el.dataset.i18n];
      if (typeof v === 'string') el.textContent = v;
    }
    const b = $('lang');
    b.lang = lang === 'de' ? 'en' : 'de';
    b.setAttribute('aria-label', t('switchLangLabel'));
    if (shown) render(shown, false);
  }

  function formatDate(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return String(iso);
    return new Intl.DateTimeFormat(lang === 'de' ? 'de-DE' : 'en-GB', { dateStyle: 'long', timeStyle: 'short' }).format(d);
  }

  // formatDay shows a date YYYY-MM-DD in the page's language, or as given if it is not one.
  function formatDay(s) {
    const m = ISO_DATE.exec(s);
    if (!m) return s;
    const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
    if (isNaN(d) || d.toISOString().slice(0, 10) !== s) return s;
    return new Intl.DateTimeFormat(lang === 'de' ? 'de-DE' : 'en-GB', { dateStyle: 'long', timeZone: 'UTC' }).format(d);
  }

  // formatLanguage names a language tag in the page's language, keeping the tag: "Deutsch (de)".
  function formatLanguage(tag) {
    try {
      const name = new Intl.DisplayNames([lang], { type: 'language' }).of(tag);
      if (name && name !== tag) return `${name} (${tag})`;
    } catch (_) { /* not a tag Intl knows */ }
    return tag;
  }

  function formatMetaValue(key, value) {
    if (key === 'valid_from' || key === 'valid_until') return formatDay(value);
    if (key === 'language') return formatLanguage(value);
    return value;
  }

  // metaSection shows the document's public metadata, which the node checked against the digest the
  // anchor committed to; or says that there is a digest but the node has no (public) metadata for it.
  // Every key and value is the agency's text: it goes into the page as text only.
  function metaSection(v, agency) {
    const sec = el('section', { id: 'meta', class: 'meta', 'aria-labelledby': 'meta-heading' }, el('h3', { id: 'meta-heading' }, t('metaHeading')));
    const m = v.metadata;
    const fields = m && typeof m === 'object' && m.digest === v.metadata_digest && m.fields && typeof m.fields === 'object' ? m.fields : null;
    const keys = fields ? Object.keys(fields).filter((k) => typeof fields[k] === 'string') : [];
    if (keys.length === 0) {
      sec.dataset.state = 'pending';
      sec.append(el('p', { class: 'hint' }, t('metaPending')));
      return sec;
    }
    const known = [...META_LABELS.keys()].filter((k) => keys.includes(k));
    const others = keys.filter((k) => !META_LABELS.has(k)).sort();
    const dl = el('dl', { id: 'meta-fields' });
    for (const k of [...known, ...others]) {
      const label = META_LABELS.get(k);
      const dd = el('dd', {}, formatMetaValue(k, fields[k]));
      if (META_KEY.test(k)) dd.dataset.key = k;
      dl.append(el('dt', {}, label ? label[lang] : k), dd);
    }
    sec.dataset.state = 'shown';
    sec.append(dl, el('p', { class: 'hint' }, t('metaSigned')(agency)));
    return sec;
  }

  function formatSize(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
    return `${(n / (1 << 20)).toFixed(1)} MiB`;
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) e.append(c); // strings become text nodes
    return e;
  }

  // normalise accepts a bare fingerprint, or a link or QR content that carries one in ?h=.
  function normalise(input) {
    let s = String(input || '').trim();
    if (/^https?:\/\//i.test(s)) {
      try { s = new URL(s).searchParams.get('h') || ''; } catch (_) { return null; }
    }
    s = s.replace(/\s+/g, '').toLowerCase();
    return HEX64.test(s) ? s : null;
  }

  function showHashError(on) {
    const e = $('hash-error');
    e.hidden = !on;
    e.textContent = on ? t('badHash') : '';
    $('hash').setAttribute('aria-invalid', on ? 'true' : 'false');
  }

  async function lookup(hash) {
    history.replaceState(null, '', '/?h=' + hash); // hash is 64 hex characters, nothing else
    $('hash').value = hash;
    showHashError(false);
    $('verify-result').hidden = true;
    render({ kind: 'busy', hash }, false);
    let res;
    try {
      res = await fetch('/v1/anchors/' + hash, { headers: { Accept: 'application/json' } });
    } catch (_) {
      render({ kind: 'error', hash, message: 'failed' }, true);
      return;
    }
    if (res.status === 404) {
      render({ kind: 'unknown', hash }, true);
    } else if (res.status === 429) {
      render({ kind: 'error', hash, retry: res.headers.get('Retry-After') || '1' }, true);
    } else if (res.ok) {
      let view;
      try { view = await res.json(); } catch (_) { view = null; }
      if (!view || view.hash !== hash) {
        render({ kind: 'error', hash, message: 'failed' }, true);
        return;
      }
      render({ kind: view.status === 'revoked' ? 'revoked' : 'genuine', hash, view }, true);
    } else {
      render({ kind: 'error', hash, message: 'failed' }, true);
    }
  }

  function render(state, focus) {
    shown = state;
    const box = $('result');
    box.replaceChildren();
    box.className = 'result ' + state.kind;
    box.hidden = false;
    $('receipt').hidden = !['genuine', 'revoked', 'unknown'].includes(state.kind);
    if (state.kind === 'busy') {
      box.append(el('p', {}, t('checking')));
      return;
    }
    if (state.kind === 'error') {
      box.append(el('p', { class: 'error' }, state.retry ? t('limited')(state.retry) : t('failed')));
      return;
    }
    const v = state.view;
    const agency = v ? (v.agency && v.agency.name ? v.agency.name : v.agency && v.agency.id) || '?' : '';
    let heading, text;
    if (state.kind === 'genuine') {
      heading = t('genuine');
      text = t('genuineText')(agency, formatDate(v.time));
    } else if (state.kind === 'revoked') {
      const r = v.revocation || {};
      heading = t('revoked');
      text = t('revokedText')(agency, formatDate(v.time), formatDate(r.time), t('reasons')[r.reason_code] || String(r.reason || '?'));
    } else {
      heading = t('unknown');
      text = t('unknownText');
    }
    box.append(el('h2', { id: 'result-heading' }, heading), el('p', { id: 'result-text' }, text));
    const dl = el('dl', {}, el('dt', {}, t('fingerprint')), el('dd', { class: 'hash' }, state.hash));
    if (v) {
      dl.append(el('dt', {}, t('agency')), el('dd', {}, agency + (v.agency && v.agency.id ? ` (${v.agency.id})` : '')));
      dl.append(el('dt', {}, t('registered')), el('dd', {}, `${formatDate(v.time)} · ${t('block')} ${Number(v.height)}`));
    }
    box.append(dl);
    if (v && typeof v.metadata_digest === 'string' && v.metadata_digest !== '') box.append(metaSection(v, agency));
    const succ = v && v.revocation && v.revocation.successor;
    if (succ && HEX64.test(succ)) {
      const a = el('a', { href: '/?h=' + succ, class: 'mono' }, succ);
      a.addEventListener('click', (e) => { e.preventDefault(); lookup(succ); });
      box.append(el('p', {}, t('successor') + ' ', a));
    }
    if (focus) box.focus();
  }

  async function hashFile(file) {
    const info = $('file-info');
    info.hidden = false;
    if (!window.crypto || !window.crypto.subtle) {
      info.textContent = t('noCrypto');
      return;
    }
    info.textContent = t('hashing');
    const digest = new Uint8Array(await window.crypto.subtle.digest('SHA-256', await file.arrayBuffer()));
    const hash = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
    info.replaceChildren(t('fileInfo')(file.name, formatSize(file.size)) + ' ', el('span', { class: 'mono' }, hash));
    lookup(hash);
  }

  async function fetchReceipt(hash) {
    const res = await fetch('/v1/anchors/' + hash + '/receipt', { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(res.status === 429 ? t('limited')(res.headers.get('Retry-After') || '1') : t('failed'));
    return res.text();
  }

  async function download() {
    if (!shown || !shown.hash) return;
    const hash = shown.hash;
    try {
      const body = await fetchReceipt(hash);
      const url = URL.createObjectURL(new Blob([body], { type: 'application/json' }));
      const a = el('a', { href: url, download: `siegel-receipt-${hash.slice(0, 16)}.json` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      say($('verify-result'), false, e.message);
    }
  }

  // The verifier is the Go package receipt compiled to WebAssembly; it is loaded on first use.
  let verifier = null;
  function loadVerifier() {
    if (!verifier) {
      verifier = (async () => {
        if (typeof Go !== 'function') throw new Error(t('receiptUnavailable'));
        const go = new Go();
        const res = await fetch('/static/verify.wasm');
        if (!res.ok) throw new Error(t('receiptUnavailable'));
        const { instance } = await WebAssembly.instantiate(await res.arrayBuffer(), go.importObject);
        go.run(instance); // defines siegelCheckReceipt, then waits
        const g = await fetch('/v1/genesis');
        if (!g.ok) throw new Error(t('failed'));
        const genesis = await g.text();
        if (typeof window.siegelCheckReceipt !== 'function') throw new Error(t('receiptUnavailable'));
        return (receiptText) => JSON.parse(window.siegelCheckReceipt(receiptText, genesis));
      })();
      verifier.catch(() => { verifier = null; });
    }
    return verifier;
  }

  function say(node, ok, text) {
    node.hidden = false;
    node.className = 'verdict ' + (ok ? 'ok' : 'bad');
    node.textContent = text;
  }

  async function checkReceipt(text, node, expectHash) {
    say(node, true, t('verifying'));
    try {
      const check = await loadVerifier();
      const s = check(text);
      node.dataset.valid = String(!!s.valid);
      node.dataset.state = s.state || '';
      if (!s.valid) {
        say(node, false, t('receiptInvalid')(s.error || '?'));
      } else if (expectHash && s.doc_hash !== expectHash) {
        say(node, false, t('receiptOther')(s.doc_hash));
      } else {
        say(node, true, t('receiptValid')(t('states')[s.state] || s.state, Number(s.as_of_height), formatDate(s.as_of_time)) +
          (expectHash ? '' : ` ${t('fingerprint')}: ${s.doc_hash}`));
      }
    } catch (e) {
      node.dataset.valid = 'false';
      say(node, false, e.message || t('failed'));
    }
  }

  function start() {
    applyLanguage();
    $('lang').addEventListener('click', () => {
      lang = lang === 'de' ? 'en' : 'de';
      try { window.localStorage.setItem('siegel-lang', lang); } catch (_) { /* storage disabled */ }
      applyLanguage();
    });
    $('hash-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const h = normalise($('hash').value);
      if (!h) { showHashError(true); $('hash').focus(); return; }
      lookup(h);
    });
    $('file').addEventListener('change', (e) => { if (e.target.files[0]) hashFile(e.target.files[0]); });
    const drop = $('drop');
    drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      if (e.dataTransfer && e.dataTransfer.files[0]) hashFile(e.dataTransfer.files[0]);
    });
    $('download').addEventListener('click', download);
    $('verify').addEventListener('click', async () => {
      if (!shown || !shown.hash) return;
      const b = $('verify');
      b.disabled = true;
      try {
        await checkReceipt(await fetchReceipt(shown.hash), $('verify-result'), shown.hash);
      } catch (e) {
        say($('verify-result'), false, e.message);
      } finally {
        b.disabled = false;
      }
    });
    $('receipt-file').addEventListener('change', async (e) => {
      const f = e.target.files[0];
      if (f) checkReceipt(await f.text(), $('receipt-file-result'), null);
    });
    const q = new URLSearchParams(window.location.search).get('h');
    if (q !== null) {
      const h = normalise(q);
      if (h) lookup(h);
      else showHashError(true);
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
