// views/llm.js -- (being written)
import { html } from '../html.js';

export function LlmView() {
	return html`<div class="empty">This view is being built.</div>`;
}
