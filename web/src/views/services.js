// views/services.js -- (being written)
import { html } from '../html.js';

export function ServicesView() {
	return html`<div class="empty">This view is being built.</div>`;
}
