// views/alerts.js -- (being written)
import { html } from '../html.js';

export function AlertsView() {
	return html`<div class="empty">This view is being built.</div>`;
}
