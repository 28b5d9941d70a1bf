package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/config"
	"accessbot/sandbox"
	"accessbot/sandbox/browsertest"
)

// startSandbox runs `accessbot sandbox` on a free port with the example
// configuration and a fresh database, and returns the page's URL.
func startSandbox(t *testing.T) (url string, stdout, stderr *syncBuffer) {
	t.Helper()
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	env := Env{Stdout: stdout, Stderr: stderr, Getenv: func(string) string { return "" }}
	ctx, stop := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() {
		code <- Main(ctx, []string{"sandbox", "--config", "../../examples/config.yaml",
			"--db", t.TempDir() + "/sandbox.db", "--http", "127.0.0.1:0"}, env)
	}()
	t.Cleanup(func() {
		stop()
		select {
		case c := <-code:
			assert.Equal(t, 0, c, "stderr: %s", stderr.String())
			assert.Contains(t, stdout.String(), "accessbot sandbox stopped.")
		case <-time.After(60 * time.Second):
			t.Error("the sandbox did not stop after its context ended")
		}
	})
	re := regexp.MustCompile(`Open (http://127\.0\.0\.1:\d+) in your browser`)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], stdout, stderr
		}
		select {
		case c := <-code:
			t.Fatalf("the sandbox exited with %d: %s", c, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("the sandbox printed no URL: %s", stdout.String())
	return "", nil, nil
}

// page helpers: JavaScript run in the page, all by what a person sees.
const (
	// buttonIn finds a visible button by its text inside a CSS scope.
	buttonIn = `[...document.querySelectorAll(%q)].find((b) => b.offsetParent && b.textContent.trim() === %q)`
)

// clickButton presses the button with this text once it shows. It is found
// and pressed in one step in the page, so a card the bot redraws meanwhile
// cannot swallow the click.
func clickButton(t *testing.T, ctx context.Context, scope, text string) {
	t.Helper()
	browsertest.WaitJS(t, ctx, fmt.Sprintf("a %q button in %s", text, scope), fmt.Sprintf(
		"(() => { const b = "+buttonIn+"; if (!b) return false; b.scrollIntoView({ block: 'center' }); b.click(); return true; })()",
		scope+" button", text))
}

func waitText(t *testing.T, ctx context.Context, scope, text string) {
	t.Helper()
	browsertest.WaitJS(t, ctx, fmt.Sprintf("%q in %s", text, scope),
		fmt.Sprintf(`[...document.querySelectorAll(%q)].some((e) => e.innerText.includes(%q))`, scope, text))
}

func typeInto(t *testing.T, ctx context.Context, css, text string, enter bool) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(css)), chromedp.WaitEnabled(chromedp.CSS(css))))
	browsertest.JS[bool](t, ctx, fmt.Sprintf(`(document.querySelector(%q).value = '', true)`, css))
	acts := []chromedp.Action[chromedp.Void]{chromedp.Focus(chromedp.CSS(css)), chromedp.SendKeys(chromedp.CSS(css), text)}
	if enter {
		acts = append(acts, chromedp.KeyEvent(kb.Enter))
	}
	require.NoError(t, chromedp.Do(ctx, acts...), "type into %s", css)
}

// switchPerson picks a person in the "You are" picker, as a person would.
func switchPerson(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	id := browsertest.JS[string](t, ctx, fmt.Sprintf(`(() => { const o = [...document.querySelectorAll('#as option')].find((o) => o.textContent.startsWith(%q)); return o ? o.value : ''; })()`, name))
	require.NotEmpty(t, id, "%s is in the picker", name)
	require.NoError(t, chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#as"), id)))
	browsertest.JS[bool](t, ctx, `document.getElementById('as').dispatchEvent(new Event('change')), true`)
	waitText(t, ctx, ".side-me", name)
}

// TestSandboxInABrowser plays the tour in headless Chromium, with two
// windows (two people at once): request, approve, the card changing on both
// screens, a thread reply, provisioning, the App Home and a skip of the
// clock to expiry. Each stage is a screenshot in browsertest.Dir;
// SANDBOX_DOCS_PNG=path also writes the one README shows.
func TestSandboxInABrowser(t *testing.T) {
	browser := browsertest.Browser(t) // skips without Chromium (fails under CI)
	url, _, stderr := startSandbox(t)
	cat, err := config.Load("../../examples/config.yaml")
	require.NoError(t, err)
	cast := sandboxTour(cat)
	require.NotEmpty(t, cast.Requester, "the example has a tour")
	requester, manager, provisioner := sandbox.RealName(cast.Requester), sandbox.RealName(cast.Manager), sandbox.RealName(cast.Provisioner)
	dir := browsertest.Dir(t)
	shot := func(ctx context.Context, name string) string { return browsertest.Shot(t, ctx, dir, name) }
	t.Cleanup(func() {
		if t.Failed() {
			shot(browser, "zz-failed-requester")
		}
	})

	// The requester's window.
	a := browser
	require.NoError(t, chromedp.Do(a, chromedp.Navigate(url+"/?as="+cast.Requester)))
	waitText(t, a, ".side-me", requester)
	// Every error the page shows the requester, for the end of the test.
	browsertest.JS[bool](t, a, `(() => { window.toastLog = [];
	  new MutationObserver((ms) => ms.forEach((m) => m.addedNodes.forEach((n) => window.toastLog.push(n.innerText))))
	    .observe(document.getElementById('toasts'), { childList: true }); return true; })()`)
	waitText(t, a, "#tour", "Welcome to the accessbot sandbox")
	waitText(t, a, "#topbar", "local only · 127.0.0.1:")
	shot(a, "01-first-open")
	clickButton(t, a, "#tour", "Next")
	waitText(t, a, "#tour", "Ask for access")
	require.NoError(t, chromedp.Do(a, chromedp.Click(chromedp.CSS("#tour-dismiss"))))
	browsertest.WaitJS(t, a, "the tour gone", `document.getElementById('tour').hidden`)

	// A slash command the app does not have is refused as Slack does.
	typeInto(t, a, "#compose", "/acess request", true)
	waitText(t, a, "#toasts", "/acess is not a valid command")
	// The bot's own answers to a command are ephemeral, as in Slack.
	typeInto(t, a, "#compose", "/access help", true)
	waitText(t, a, "#messages .msg.ephemeral .only-you", "Only visible to you")
	waitText(t, a, "#messages .msg.ephemeral", "/access request")

	// /access request opens the request form, prefilled.
	typeInto(t, a, "#compose", fmt.Sprintf("/access request %s %s", cast.App, cast.Duration), true)
	browsertest.WaitJS(t, a, "the request form", `!!document.querySelector('.modal [data-block-id="req_justification"] textarea')`)
	shot(a, "02-request-form")
	clickButton(t, a, ".modal-foot", "Request")
	waitText(t, a, ".modal", "Please complete this required field.")
	typeInto(t, a, `.modal [data-block-id="req_justification"] textarea`, "Onboarding week: I work from the office network.", false)
	shot(a, "03-request-filled")
	clickButton(t, a, ".modal-foot", "Request")
	browsertest.WaitJS(t, a, "the form closed", `!document.querySelector('.modal')`)
	waitText(t, a, "#messages", "Waiting on")
	shot(a, "04-requested")

	// The manager, in a second window with storage of its own.
	b := browsertest.NewWindow(t, browser)
	t.Cleanup(func() {
		if t.Failed() {
			shot(b, "zz-failed-other")
		}
	})
	require.NoError(t, chromedp.Do(b, chromedp.Navigate(url+"/?as="+cast.Manager)))
	waitText(t, b, ".side-me", manager)
	waitText(t, b, "#messages", "Onboarding week")
	clickButton(t, b, "#tour", "Next")
	clickButton(t, b, "#tour", "Next")
	waitText(t, b, "#tour", "Approve as the manager")
	docShot := shot(b, "05-manager-card")
	require.NoError(t, chromedp.Do(b, chromedp.Click(chromedp.CSS("#tour-dismiss"))))
	clickButton(t, b, "#messages", "Approve")
	browsertest.WaitJS(t, b, "the Approve button gone from the manager's card",
		fmt.Sprintf("!("+buttonIn+")", "#messages button", "Approve"))
	waitText(t, b, "#messages", "Approved by")
	shot(b, "05-manager-approved")

	// The requester's card changed too, without a reload.
	waitText(t, a, "#messages", "to provision it")
	shot(a, "06-requester-card-updated")

	// A reply in the card's thread reaches the manager's thread.
	clickButton(t, a, "#messages", "Reply in thread")
	typeInto(t, a, "#thread textarea", "Thanks! I need it before Monday.", true)
	waitText(t, a, "#thread", "Thanks! I need it before Monday.")
	shot(a, "07-thread-reply")
	waitText(t, b, "#messages", "1 reply")
	clickButton(t, b, "#messages", "💬 1 reply")
	waitText(t, b, "#thread", "Thanks! I need it before Monday.")
	shot(b, "08-manager-sees-reply")

	// The provisioner provisions; the requester's App Home lists the request.
	switchPerson(t, b, provisioner)
	clickButton(t, b, "#messages", "Provisioned")
	waitText(t, b, "#messages", "Provisioned by")
	shot(b, "09-provisioned")
	require.NoError(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`[data-open="home"]`))))
	browsertest.WaitJS(t, a, "the App Home", `!!document.querySelector('.home-view')`)
	clickButton(t, a, ".home-view", "My requests")
	waitText(t, a, ".home-view", "T-1")
	shot(a, "10-app-home")

	// A day later the 8h grant has expired: a deprovisioning task.
	require.NoError(t, chromedp.Do(b, chromedp.Click(chromedp.CSS("#skip-1d"))))
	browsertest.WaitJS(t, b, "the clock a day ahead", `document.getElementById('clock').textContent.includes('1d 0h ahead')`)
	waitText(t, b, "#messages", "Deprovisioning")
	waitText(t, b, "#messages", "expired; it must be removed by hand")
	shot(b, "11-deprovisioning-task")
	clickButton(t, b, "#messages", "Deprovisioned")
	waitText(t, b, "#messages", "Access removed.")
	shot(b, "12-deprovisioned")

	toasts := browsertest.JS[[]string](t, a, `window.toastLog`)
	require.Len(t, toasts, 1, "the requester saw only the one refusal: %q", toasts)
	assert.Contains(t, toasts[0], "/acess is not a valid command")

	if p := os.Getenv("SANDBOX_DOCS_PNG"); p != "" {
		png, err := os.ReadFile(docShot)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, png, 0o644))
	}
	assert.NotContains(t, stderr.String(), "panic")
}

// TestSandboxFlags: the defaults and the warning for an open address.
func TestSandboxFlags(t *testing.T) {
	var stdout, stderr syncBuffer
	env := Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() {
		code <- Main(ctx, []string{"sandbox", "--config", "../../examples/config.yaml", "--db", t.TempDir() + "/s.db", "--http", "0.0.0.0:0"}, env)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "Ctrl-C stops it") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	assert.Equal(t, 0, <-code, stderr.String())
	assert.Contains(t, stderr.String(), "WARNING: --http 0.0.0.0:0 listens beyond this machine and the page has no login")
	assert.Regexp(t, `Open http://127\.0\.0\.1:\d+ in your browser`, stdout.String())

	// A taken port is one line that says what to do, before anything starts.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	stdout, stderr = syncBuffer{}, syncBuffer{}
	assert.Equal(t, 1, Main(context.Background(), []string{"sandbox", "--config", "../../examples/config.yaml", "--db", t.TempDir() + "/s.db", "--http", ln.Addr().String()}, env))
	assert.Contains(t, stderr.String(), "--http "+ln.Addr().String()+": cannot listen")
	assert.Contains(t, stderr.String(), "choose another address")
	assert.Empty(t, stdout.String())

	stdout, stderr = syncBuffer{}, syncBuffer{}
	assert.Equal(t, 2, Main(context.Background(), []string{"sandbox", "extra"}, env))
	assert.Contains(t, stderr.String(), "sandbox takes no arguments")
	assert.Equal(t, 1, Main(context.Background(), []string{"sandbox", "--config", "nope.yaml"}, env))
	assert.Contains(t, stderr.String(), "no configuration file at nope.yaml: run the sandbox from the repository's root")
}

// pick chooses an option of a <select> (by its text) as a person does.
func pick(t *testing.T, ctx context.Context, css, text string) {
	t.Helper()
	browsertest.WaitJS(t, ctx, fmt.Sprintf("option %q in %s", text, css), fmt.Sprintf(
		`[...(document.querySelector(%q) || {options: []}).options].some((o) => o.textContent.startsWith(%q))`, css, text))
	ok := browsertest.JS[bool](t, ctx, fmt.Sprintf(`(() => { const s = document.querySelector(%q);
	  const o = [...s.options].find((o) => o.textContent.startsWith(%q)); s.value = o.value;
	  s.dispatchEvent(new Event('change', { bubbles: true })); return true; })()`, css, text))
	require.True(t, ok)
}

// setDate fills a date picker.
func setDate(t *testing.T, ctx context.Context, css, date string) {
	t.Helper()
	browsertest.JS[bool](t, ctx, fmt.Sprintf(`(() => { const i = document.querySelector(%q); i.value = %q;
	  i.dispatchEvent(new Event('change', { bubbles: true })); return true; })()`, css, date))
}

// TestSandboxModalsInABrowser: the bot's field errors under their field,
// a form updated in place, radio buttons, a user select and date pickers,
// and a modal pushed over another (stacking) then updated.
func TestSandboxModalsInABrowser(t *testing.T) {
	browser := browsertest.Browser(t)
	url, _, _ := startSandbox(t)
	dir := browsertest.Dir(t)
	shot := func(name string) { browsertest.Shot(t, browser, dir, name) }
	t.Cleanup(func() {
		if t.Failed() {
			shot("zz-failed")
		}
	})
	a := browser
	require.NoError(t, chromedp.Do(a, chromedp.Navigate(url+"/?as=maya.chen@acme.example")))
	waitText(t, a, ".side-me", "Maya Chen")
	require.NoError(t, chromedp.Do(a, chromedp.Click(chromedp.CSS("#tour-dismiss"))))

	// Over the maximum: the bot's error shows under the duration.
	typeInto(t, a, "#compose", "/access request aws/staging 3w", true)
	dur := `.modal [data-block-id^="req_duration:"] input`
	typeInto(t, a, `.modal [data-block-id="req_justification"] textarea`, "Load test of the new queue.", false)
	clickButton(t, a, ".modal-foot", "Request")
	waitText(t, a, `.modal [data-block-id^="req_duration:"] .bk-error`, "1w")
	shot("01-field-error")
	typeInto(t, a, dur, "2d", false)
	clickButton(t, a, ".modal-foot", "Request")
	browsertest.WaitJS(t, a, "the form closed", `!document.querySelector('.modal')`)
	waitText(t, a, "#messages", "Waiting on")

	// Delegation from the App Home: radio buttons, a user select, dates.
	require.NoError(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`[data-open="home"]`))))
	waitText(t, a, ".home-view", "Delegate tasks")
	clickButton(t, a, ".home-view", "Edit")
	waitText(t, a, ".modal-title", "Delegate tasks")
	require.NoError(t, chromedp.Do(a, chromedp.Click(chromedp.JSPath(
		`[...document.querySelectorAll('.modal .bk-choice')].find((l) => l.textContent.startsWith('Temporary')).querySelector('input')`))))
	pick(t, a, `.modal [data-block-id="delegate_to"] select`, "Ben Okafor")
	browsertest.WaitJS(t, a, "the date pickers", `!!document.querySelector('.modal [data-block-id="delegate_end"] input[type=date]')`)
	setDate(t, a, `.modal [data-block-id="delegate_start"] input`, "2026-12-20")
	setDate(t, a, `.modal [data-block-id="delegate_end"] input`, "2026-12-24")
	shot("02-delegate-form")
	clickButton(t, a, ".modal-foot", "Save")
	browsertest.WaitJS(t, a, "the form closed", `!document.querySelector('.modal')`)

	// The DM says so; then Details, and the admin menu pushes a
	// confirmation over it.
	require.NoError(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`[data-open="dm"]`))))
	waitText(t, a, "#messages", "Your accessbot delegate is now") // a mention once the bot knows Ben, else his email
	clickButton(t, a, "#messages", "T-1 details")
	waitText(t, a, ".modal-title", "T-1")
	pick(t, a, `.modal select`, "Delete")
	waitText(t, a, ".modal-foot", "2 windows open")
	shot("03-stacked")
	typeInto(t, a, ".modal textarea", "Test request, not needed.", false)
	require.NoError(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(".modal-submit"))))
	waitText(t, a, ".modal-title", "Done")
	shot("04-updated")
}
