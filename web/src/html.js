// html.js -- htm bound to Preact's h: JSX-like templates with no build step.
// Every ${value} in a template is set as text (or a property), never parsed
// as HTML: record contents cannot become markup.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
