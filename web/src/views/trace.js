// views/trace.js -- (being written)
import { html } from '../html.js';

export function TraceView() {
	return html`<div class="empty">This view is being built.</div>`;
}
