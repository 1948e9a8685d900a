// views/live.js -- (being written)
import { html } from '../html.js';

export function LiveView() {
	return html`<div class="empty">This view is being built.</div>`;
}
