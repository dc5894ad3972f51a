/** Entry point: routes `/m/{id}` to the read view and everything else to the home view. */
import './styles.css';
import { ApiClient } from './api-client.js';
import { h } from './dom.js';
import { SAME_ORIGIN, loadRuntimeConfig } from './runtime-config.js';
import type { RuntimeConfig } from './runtime-config.js';
import { installTrustedTypesPolicy } from './trusted-html.js';
import { mountHomeView } from './views/home-view.js';
import { mountReadView } from './views/read-view.js';

async function start(root: HTMLElement): Promise<void> {
  // Read the fragment first: nothing else in the page should see or change it before us.
  const fragment = location.hash;
  installTrustedTypesPolicy();
  root.replaceChildren(h('p', { class: 'status', role: 'status' }, 'Loading…'));

  let config: RuntimeConfig = SAME_ORIGIN;
  try {
    config = await loadRuntimeConfig();
  } catch {
    root.replaceChildren(
      h(
        'p',
        { class: 'status status-error', role: 'alert' },
        'Sealnote could not load its settings. Reload the page to try again.',
      ),
    );
    return;
  }
  const api = new ApiClient(config.apiBase);
  const read = /^\/m\/([^/]+)\/?$/.exec(location.pathname);
  if (read?.[1]) {
    mountReadView(root, api, read[1], fragment);
  } else {
    mountHomeView(root, api, config);
  }
}

const root = document.getElementById('app');
if (root) {
  void start(root);
}
