"""One look for the three apps. Gradio 6 takes theme and CSS at mount time, not in the Blocks constructor."""

from __future__ import annotations

import gradio as gr


def theme() -> gr.themes.Base:
    return gr.themes.Soft(
        primary_hue="indigo",
        secondary_hue="slate",
        neutral_hue="slate",
        radius_size="md",
        # System fonts only: the app must render offline, without fetching web fonts.
        font=["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
    ).set(
        # Inputs that read as inputs on a phone in sunlight: a visible border, a faint fill.
        input_border_width="1px",
        input_border_color="*neutral_300",
        input_border_color_focus="*primary_500",
        input_background_fill="*neutral_50",
    )


CSS = """
.gradio-container { max-width: 1100px !important; margin: 0 auto; }
.cb-header { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
.cb-header h1 { font-size: 1.5rem; margin: 0; }
.cb-header .cb-sub { color: var(--body-text-color-subdued); font-size: .95rem; }
.cb-talk button, button.cb-talk { white-space: nowrap; }

#photos, #reply-photos { border: 2px dashed var(--border-color-primary); border-radius: 12px; }
.cb-card { border-radius: 12px; padding: 16px 18px; margin: 4px 0; border: 1px solid var(--border-color-primary);
           background: var(--background-fill-secondary); }
.cb-card-title { font-weight: 700; font-size: 1.15rem; margin-bottom: 6px; }
.cb-card-good { border-left: 6px solid #16a34a; }
.cb-card-ask  { border-left: 6px solid #d97706; }
.cb-card-wait { border-left: 6px solid #4f46e5; }
.cb-card-bad  { border-left: 6px solid #dc2626; }
.cb-card p { margin: 6px 0; }
.cb-ref { display: flex; gap: 18px; flex-wrap: wrap; margin: 10px 0; }
.cb-ref div { background: var(--background-fill-primary); border: 1px dashed var(--border-color-primary);
              border-radius: 8px; padding: 6px 10px; }
.cb-ref small { display: block; color: var(--body-text-color-subdued); font-size: .75rem; }
.cb-ref code { font-size: 1.05rem; font-weight: 700; user-select: all; }
.cb-next { color: var(--body-text-color-subdued); }

.cb-pill { display: inline-block; border-radius: 999px; padding: 2px 10px; font-size: .8rem; font-weight: 600; }
.cb-pill-good { background: #dcfce7; color: #166534; }
.cb-pill-ask  { background: #fef3c7; color: #92400e; }
.cb-pill-wait { background: #e0e7ff; color: #3730a3; }
.cb-pill-bad  { background: #fee2e2; color: #991b1b; }
.cb-badge { display: inline-block; border-radius: 6px; padding: 1px 7px; margin: 1px 3px 1px 0;
            font-size: .75rem; font-weight: 600; white-space: nowrap; }
.cb-badge-urgent { background: #fee2e2; color: #991b1b; }
.cb-badge-fraud  { background: #f3e8ff; color: #6b21a8; }
.cb-badge-info   { background: #e0f2fe; color: #075985; }

.cb-thread { display: flex; flex-direction: column; gap: 10px; }
.cb-msg { max-width: 85%; border-radius: 12px; padding: 10px 12px; border: 1px solid var(--border-color-primary); }
.cb-msg-mine { align-self: flex-end; background: #eef2ff; }
.cb-msg-theirs { align-self: flex-start; background: var(--background-fill-secondary); }
.dark .cb-msg-mine { background: #312e81; }
.cb-msg-head { font-size: .8rem; margin-bottom: 4px; display: flex; gap: 8px; flex-wrap: wrap; align-items: baseline; }
.cb-time { color: var(--body-text-color-subdued); margin-left: auto; }
.cb-kind { color: var(--body-text-color-subdued); }
.cb-thumbs { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }
.cb-thumb { width: 96px; height: 96px; object-fit: cover; border-radius: 8px; border: 1px solid var(--border-color-primary); }
.cb-preview { display: flex; flex-wrap: wrap; gap: 8px; }
.cb-preview figure { margin: 0; width: 110px; }
.cb-preview img { width: 110px; height: 110px; object-fit: cover; border-radius: 8px; }
.cb-preview figcaption { font-size: .72rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.cb-bad-file { width: 110px; height: 110px; display: flex; align-items: center; justify-content: center;
               text-align: center; font-size: .75rem; background: #fee2e2; color: #991b1b; border-radius: 8px; }
.cb-empty { color: var(--body-text-color-subdued); font-style: italic; }

.cb-table { width: 100%; border-collapse: collapse; font-size: .9rem; }
.cb-table th { text-align: left; font-size: .75rem; text-transform: uppercase; letter-spacing: .04em;
               color: var(--body-text-color-subdued); border-bottom: 1px solid var(--border-color-primary); padding: 6px; }
.cb-table td { border-bottom: 1px solid var(--border-color-primary); padding: 6px; vertical-align: top; }
.cb-overdue { color: #b91c1c; font-weight: 700; }
.cb-photos { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 12px; }
.cb-photo { border: 1px solid var(--border-color-primary); border-radius: 10px; overflow: hidden;
            background: var(--background-fill-secondary); }
.cb-photo img { width: 100%; height: 200px; object-fit: contain; background: #111; display: block; cursor: zoom-in; }
.cb-zoom-toggle { display: none; }
.cb-zoom-toggle:checked + label img { position: fixed; inset: 0; width: 100vw; height: 100vh; z-index: 1000;
                                      background: rgba(0, 0, 0, .92); cursor: zoom-out; padding: 2vh 2vw;
                                      box-sizing: border-box; object-fit: contain; }
.cb-photo > div { padding: 6px 8px; font-size: .82rem; }
.cb-conf { height: 6px; background: #e5e7eb; border-radius: 3px; overflow: hidden; margin: 4px 0; padding: 0 !important; }
.cb-conf-fill { height: 6px; background: #4f46e5; }
.cb-conf.cb-low .cb-conf-fill { background: #d97706; }
.cb-lock-chip { font-size: .8rem; background: #fef3c7; color: #92400e; border-radius: 6px; padding: 1px 6px; }
.cb-mark { background: #fde68a; padding: 0 2px; border-radius: 3px; }
.cb-side { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
.cb-side img { width: 100%; max-height: 220px; object-fit: contain; background: #111; border-radius: 8px; }
.cb-kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; font-size: .9rem; }
.cb-kv dt { color: var(--body-text-color-subdued); }
.cb-kv dd { margin: 0; }
.cb-meter { height: 8px; border-radius: 4px; background: linear-gradient(90deg, #dc2626, #e5e7eb 50%, #16a34a);
            position: relative; margin: 6px 0 2px; }
.cb-meter i { position: absolute; top: -4px; width: 4px; height: 16px; background: #111; border-radius: 2px; }
.cb-lock { border-radius: 8px; padding: 6px 10px; background: #fef3c7; color: #92400e; font-size: .9rem; }
.cb-kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; }
.cb-kpi { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px 12px;
          background: var(--background-fill-secondary); }
.cb-kpi b { font-size: 1.5rem; display: block; }
.cb-kpi small { color: var(--body-text-color-subdued); }

@media (max-width: 640px) {
  .gradio-container { padding: 6px !important; }
  .cb-msg { max-width: 100%; }
  .cb-side { grid-template-columns: 1fr; }
  .cb-header h1 { font-size: 1.2rem; }
  .cb-table th:nth-child(n+6), .cb-table td:nth-child(n+6) { display: none; }
}
"""
