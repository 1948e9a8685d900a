// views/compare.js -- (being written)
import { html } from '../html.js';

export function CompareView() {
	return html`<div class="empty">This view is being built.</div>`;
}
