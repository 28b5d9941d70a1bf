// Package browsertest starts headless Chromium for the sandbox's browser
// tests (chromedp) and keeps their screenshots.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium finds a Chromium (or Chrome) binary: $CHROMIUM, then Debian's
// /usr/bin/chromium, then the PATH. "" when there is none.
func Chromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Browser starts a fresh headless Chromium for t (its own user data
// directory) and returns the context of its first tab; it is stopped when
// t ends. With no Chromium the test is skipped, except under CI=true, where
// a missing browser fails it.
func Browser(t testing.TB) context.Context {
	t.Helper()
	bin := Chromium()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium found (CI=true): install Debian's chromium package (apt-get install -y chromium) or set CHROMIUM")
		}
		t.Skip("no Chromium found: install Debian's chromium package (apt-get install -y chromium) or set CHROMIUM to run the browser tests")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.WindowSize(1360, 860),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", bin, err)
	}
	return ctx
}

// NewWindow opens another window of the browser with its own cookies and
// storage (an incognito-like browser context): a second person's screen.
func NewWindow(t testing.TB, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1360, 860)); err != nil {
		t.Fatalf("open a browser window: %v", err)
	}
	return ctx
}

// Dir is where screenshots go: $SANDBOX_SCREENSHOTS (created) or a
// directory of the test's own.
func Dir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("SANDBOX_SCREENSHOTS"); d != "" {
		d = filepath.Join(d, filepath.Base(t.Name()))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// WaitJS waits (30 s at most, polling every 100 ms) until the JavaScript
// expression is truthy, and fails t naming what it waited for.
func WaitJS(t testing.TB, ctx context.Context, what, expr string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// JS evaluates the expression and returns its value.
func JS[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// Shot saves a PNG of the window's viewport as dir/name.png and returns
// its path.
func Shot(t testing.TB, ctx context.Context, dir, name string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
	return p
}
