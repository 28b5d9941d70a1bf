package sandbox_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/sandbox"
	"accessbot/sandbox/browsertest"
)

const renderPage = `<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/app.css"></head>
<body style="background:#fff;overflow:auto"><div id="out" style="padding:20px;max-width:900px"></div>
<script src="/blockkit.js"></script></body></html>`

// renderIn draws a message or view with the page's renderer and answers
// the types it drew as placeholders and how many top-level blocks it drew.
const renderIn = `(() => {
  const obj = %s;
  const el = BlockKit.renderSurface(obj, { users: { U0ALICE: { id: 'U0ALICE', real_name: 'Alice Example', name: 'alice' } }, tz: 'UTC', now: '2025-03-10T12:00:00Z' });
  document.getElementById('out').replaceChildren(el);
  const root = el.classList.contains('bk') ? el : el.querySelector('.bk');
  return { placeholders: [...el.querySelectorAll('.bk-unsupported')].map((e) => e.dataset.type),
    blocks: root ? root.querySelectorAll(':scope > .bk-block, :scope > .bk-unsupported').length : 0 };
})()`

type rendered struct {
	Placeholders []string `json:"placeholders"`
	Blocks       int      `json:"blocks"`
}

func renderServer(t *testing.T) string {
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServerFS(sandbox.Assets()))
	mux.HandleFunc("/render.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(renderPage))
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts.URL
}

// TestPageRendersEveryElementBlocksEmits draws every golden file of
// blocks/ (every card, message, modal and Home tab the bot sends) with the
// page's renderer: none may show a placeholder.
func TestPageRendersEveryElementBlocksEmits(t *testing.T) {
	ctx := browsertest.Browser(t)
	url := renderServer(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(url+"/render.html")))
	browsertest.WaitJS(t, ctx, "the renderer", "window.BlockKit")
	dir := browsertest.Dir(t)

	files, err := filepath.Glob("../blocks/testdata/*.golden")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	types := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var obj struct {
			Blocks []json.RawMessage `json:"blocks"`
		}
		require.NoError(t, json.Unmarshal(raw, &obj), f)
		collectTypes(t, raw, types)
		got := browsertest.JS[rendered](t, ctx, fmt.Sprintf(renderIn, raw))
		name := strings.TrimSuffix(filepath.Base(f), ".golden")
		assert.Empty(t, got.Placeholders, "%s: rendered as placeholders", name)
		assert.Equal(t, len(obj.Blocks), got.Blocks, "%s: every block drawn", name)
		switch name {
		case "card_review_insights", "modal_request_prefilled", "home_assigned", "modal_details":
			browsertest.Shot(t, ctx, dir, name)
		}
	}
	t.Logf("types in blocks' golden files: %v", keys(types))
}

// TestPageShowsAPlaceholderForAnythingElse: an element the table does not
// know is drawn as a box naming it, never as nothing.
func TestPageShowsAPlaceholderForAnythingElse(t *testing.T) {
	ctx := browsertest.Browser(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(renderServer(t)+"/render.html")))
	browsertest.WaitJS(t, ctx, "the renderer", "window.BlockKit")
	msg := `{"blocks":[{"type":"rich_text","elements":[]},{"type":"actions","elements":[{"type":"timepicker","action_id":"t"}]},
	  {"type":"section","text":{"type":"markdown","text":"x"}}]}`
	got := browsertest.JS[rendered](t, ctx, fmt.Sprintf(renderIn, msg))
	assert.Equal(t, []string{"rich_text", "timepicker", "markdown"}, got.Placeholders)
	txt := browsertest.JS[string](t, ctx, `document.getElementById('out').innerText`)
	assert.Contains(t, txt, "Unsupported Block Kit block: rich_text")
	assert.Contains(t, txt, "Unsupported Block Kit element: timepicker")
}

// TestMrkdwn checks the formatting the bot relies on.
func TestMrkdwn(t *testing.T) {
	ctx := browsertest.Browser(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(renderServer(t)+"/render.html")))
	browsertest.WaitJS(t, ctx, "the renderer", "window.BlockKit")
	tests := []struct{ in, want string }{
		{"*bold* and _italic_ and ~gone~", "<b>bold</b> and <i>italic</i> and <s>gone</s>"},
		{"*<@U0ALICE> approved*", `<b><span class="bk-mention" data-user="U0ALICE">@Alice Example</span> approved</b>`},
		{"<https://example.com/a?b=1&amp;c=2|the docs>", `<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">the docs</a>`},
		{":white_check_mark: done :nope:", `<span class="bk-emoji" title=":white_check_mark:">✅</span> done :nope:`},
		{"a &lt;b&gt; &amp; <script>", "a &lt;b&gt; &amp; script"}, // a token, never markup
		{"org_admin and snake_case_name", "org_admin and snake_case_name"},
		{"`*not bold*`", "<code>*not bold*</code>"},
		{"<javascript:alert(1)|x>", "javascript:alert(1)|x"},
		{"<!date^1741608000^{date_short_pretty} {time}|fallback>", `<time datetime="2025-03-10T12:00:00.000Z">today 12:00</time>`},
		{"> quoted\nplain", `<span class="bk-quote">quoted</span>plain`},
	}
	for _, tt := range tests {
		in, _ := json.Marshal(tt.in)
		got := browsertest.JS[string](t, ctx, fmt.Sprintf(`BlockKit.mrkdwn(%s, { users: { U0ALICE: { real_name: 'Alice Example' } }, tz: 'UTC', now: '2025-03-10T12:00:00Z' })`, in))
		assert.Equal(t, tt.want, got, "mrkdwn(%q)", tt.in)
	}
}

func collectTypes(t *testing.T, raw []byte, into map[string]bool) {
	var v any
	require.NoError(t, json.Unmarshal(raw, &v))
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["type"].(string); ok {
				into[s] = true
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestElementsAct: each interactive element tells the page what the person
// did, with the values Slack would send.
func TestElementsAct(t *testing.T) {
	ctx := browsertest.Browser(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(renderServer(t)+"/render.html")))
	browsertest.WaitJS(t, ctx, "the renderer", "window.BlockKit")
	browsertest.JS[bool](t, ctx, `(() => {
	  window.acted = [];
	  const blocks = [
	    { type: 'actions', block_id: 'b', elements: [
	      { type: 'button', action_id: 'go', text: { type: 'plain_text', text: 'Go' }, style: 'primary',
	        confirm: { title: { type: 'plain_text', text: 'Sure?' }, text: { type: 'plain_text', text: 'Really' }, confirm: { type: 'plain_text', text: 'Yes' }, deny: { type: 'plain_text', text: 'No' } } },
	      { type: 'overflow', action_id: 'more', options: [{ text: { type: 'plain_text', text: 'Comment' }, value: 'c' }] },
	      { type: 'static_select', action_id: 'sel', placeholder: { type: 'plain_text', text: 'Pick' }, options: [{ text: { type: 'plain_text', text: 'One' }, value: '1' }, { text: { type: 'plain_text', text: 'Two' }, value: '2' }] },
	      { type: 'datepicker', action_id: 'day' } ] },
	    { type: 'input', block_id: 'app', label: { type: 'plain_text', text: 'App' }, dispatch_action: true,
	      element: { type: 'external_select', action_id: 'app', min_query_length: 1 } },
	    { type: 'input', block_id: 'ticks', label: { type: 'plain_text', text: 'Ticks' },
	      element: { type: 'checkboxes', action_id: 'ticks', options: [{ text: { type: 'plain_text', text: 'A' }, value: 'a' }, { text: { type: 'plain_text', text: 'B' }, value: 'b' }] } },
	  ];
	  window.inputs = {};
	  const el = BlockKit.render(blocks, {
	    inputs: window.inputs,
	    onAction: (a) => { window.acted.push(a.action_id + '=' + a.values.join(',')); return Promise.resolve(); },
	    suggest: (block, action, q) => Promise.resolve([{ text: 'GitHub ' + q, value: 'github' }]),
	    confirm: (c) => Promise.resolve(c.confirm.text === 'Yes'),
	  });
	  document.getElementById('out').replaceChildren(el);
	  return true; })()`)
	do := func(js string) { browsertest.JS[bool](t, ctx, "(() => { "+js+"; return true; })()") }
	do(`document.querySelector('[data-action-id="go"]').click()`)
	do(`document.querySelector('.bk-overflow-btn').click(); document.querySelector('.bk-menu .bk-menu-item').click()`)
	do(`const s = document.querySelector('[data-action-id="sel"] select'); s.value = '2'; s.dispatchEvent(new Event('change'))`)
	do(`const d = document.querySelector('[data-action-id="day"] input'); d.value = '2026-12-24'; d.dispatchEvent(new Event('change'))`)
	do(`const i = document.querySelector('[data-action-id="app"] input'); i.value = 'gi'; i.dispatchEvent(new Event('input'))`)
	browsertest.WaitJS(t, ctx, "the suggestions", `!!document.querySelector('.bk-suggest:not([hidden]) .bk-menu-item')`)
	do(`document.querySelector('.bk-suggest .bk-menu-item').click()`)
	do(`const c = document.querySelectorAll('[data-action-id="ticks"] input')[1]; c.click()`)
	browsertest.WaitJS(t, ctx, "six actions", `window.acted.length === 6`)
	got := browsertest.JS[[]string](t, ctx, `window.acted`)
	assert.Equal(t, []string{"go=", "more=c", "sel=2", "day=2026-12-24", "app=github", "ticks=b"}, got)
	assert.Equal(t, "GitHub gi", browsertest.JS[string](t, ctx, `document.querySelector('[data-action-id="app"] input').value`))
	inputs := browsertest.JS[map[string][]string](t, ctx, `Object.fromEntries(Object.entries(window.inputs).map(([k, f]) => [k, f()]))`)
	assert.Equal(t, map[string][]string{"app": {"github"}, "ticks": {"b"}}, inputs, "what a submit sends")
}
