// views/store.js -- (being written)
import { html } from '../html.js';

export function StoreView() {
	return html`<div class="empty">This view is being built.</div>`;
}
