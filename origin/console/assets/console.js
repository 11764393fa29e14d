// The console's only script (the CSP allows no other): search as you type, copy buttons, and a
// confirmation before a form marked data-confirm is sent. Every page works without it.

function liveSearch(form) {
  const input = form.querySelector('input[type="search"]');
  if (!input) return;
  let timer;
  let latest = 0;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const url = `${form.action}?${new URLSearchParams(new FormData(form))}`;
      const ticket = ++latest;
      let text;
      try {
        const response = await fetch(url, { headers: { Accept: 'text/html' } });
        if (!response.ok) return;
        text = await response.text();
      } catch {
        return; // offline or refused: the form still submits the usual way
      }
      // A slower answer to an earlier keystroke must not replace a newer one.
      if (ticket !== latest) return;
      const next = new DOMParser().parseFromString(text, 'text/html');
      const results = next.querySelector('[data-results]');
      const current = document.querySelector('[data-results]');
      if (results && current) current.replaceWith(results);
      history.replaceState(null, '', url);
    }, 200);
  });
}

document.addEventListener('DOMContentLoaded', () => {
  for (const form of document.querySelectorAll('form[data-live-search]')) liveSearch(form);
  document.addEventListener('click', async (event) => {
    const button = event.target.closest('button[data-copy]');
    if (!button) return;
    await navigator.clipboard.writeText(button.dataset.copy);
    const label = button.dataset.label ?? button.textContent;
    button.dataset.label = label;
    button.textContent = 'Copied';
    setTimeout(() => {
      button.textContent = label;
    }, 1500);
  });
  document.addEventListener('submit', (event) => {
    const message = event.target.dataset?.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });
});
