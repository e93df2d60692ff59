package report_test

import (
	"bytes"
	"context"
	"flag"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/report"
	"gitlab.com/platform/bluegreen/internal/verify"
	"gitlab.com/platform/bluegreen/internal/verify/scenario"
)

var update = flag.Bool("update", false, "rewrite docs/verification-report.png from the headless browser's screenshot")

const screenshotDoc = "../../docs/verification-report.png"

// chromium is Debian's headless browser. Without it the test fails, with
// the command that installs it; it skips only outside CI when asked to
// with BLUEGREEN_SKIP_REAL=1, the rule of the tests against real servers
// (testenv.SkipAllowed).
func chromium(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "" && os.Getenv("BLUEGREEN_SKIP_REAL") == "1" {
		t.Skip("BLUEGREEN_SKIP_REAL=1: chromium is not installed (apt-get install chromium)")
	}
	t.Fatal("chromium is not installed: apt-get install chromium (or set BLUEGREEN_SKIP_REAL=1 outside CI to skip)")
	return ""
}

// browse opens page in headless Chromium and returns the DOM after
// rendering, the screenshot, and what the browser said on the console: a
// page that loads nothing and runs no script must say nothing there.
func browse(t *testing.T, page string) (dom string, shot image.Image, console []string) {
	t.Helper()
	bin := chromium(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "verification.html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	shotPath := filepath.Join(dir, "shot.png")
	_, stderr := chrome(t, bin, dir, "--screenshot="+shotPath, "--window-size=1200,1600", "file://"+file)
	console = consoleLines(stderr)
	out, stderr := chrome(t, bin, dir, "--dump-dom", "file://"+file)
	console = append(console, consoleLines(stderr)...)
	data, err := os.ReadFile(shotPath)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v", err)
	}
	if shot, err = png.Decode(bytes.NewReader(data)); err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	return out, shot, console
}

func chrome(t *testing.T, bin, dir string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
		"--user-data-dir=" + filepath.Join(dir, "profile"), "--enable-logging=stderr", "--v=0",
	}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	home := filepath.Join(dir, "home")
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+home)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	t.Logf("chromium %s: %s", args[0], time.Since(start).Round(time.Millisecond))
	return out.String(), errOut.String()
}

// consoleLines are the browser's console messages in its log: errors,
// CSP violations, uncaught exceptions.
func consoleLines(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, ":CONSOLE") || strings.Contains(l, "Uncaught") {
			out = append(out, l)
		}
	}
	return out
}

// realistic is a run as a user sees one: the scenario engine's slow leak,
// where green's latency creeps past 20% above blue's and fails the check
// late in the window, while the error rate stays within its limit.
func realistic(t *testing.T) *verify.Report {
	t.Helper()
	f, ok := scenario.FamilyNamed("slow-leak")
	if !ok {
		t.Fatal("no scenario family slow-leak")
	}
	start := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tg := verify.Target{App: scenario.App, Namespace: scenario.Namespace, Color: plan.Green, Live: plan.Blue}
	rep := verifyWith(t, scenario.ChecksYAML, f.Spec(2).History(start).Memory(), tg, start)
	rep.Source = "http://prometheus.monitoring:9090"
	return rep
}

func TestBrowser_RendersTheChartsWithEveryPointAndNoErrors(t *testing.T) {
	t.Parallel()
	rep := realistic(t)
	dom, shot, console := browse(t, render(t, rep))
	for _, l := range console {
		t.Errorf("the browser's console: %s", l)
	}
	assertScreenshot(t, shot)

	es := elements(t, dom)
	if n := len(points(es, "error-rate", "green")); n == 0 {
		t.Fatal("the rendered DOM has no chart points: the page did not render")
	}
	for _, c := range rep.Checks {
		ivs := c.Intervals()
		assertPoints(t, es, c.Check.Name, "green", ivs, targetValue)
		if c.Compared {
			assertPoints(t, es, c.Check.Name, "blue", ivs, liveValue)
		}
	}
	svgs := 0
	for _, e := range es {
		if e.Name == "svg" {
			svgs++
		}
	}
	if svgs != len(rep.Checks) {
		t.Errorf("%d charts in the rendered DOM, want one per check, %d", svgs, len(rep.Checks))
	}
}

// The console check above is only worth something if it sees errors: a
// page whose inline script the CSP blocks must show up there.
func TestBrowser_ConsoleCheckSeesABlockedScript(t *testing.T) {
	t.Parallel()
	page := strings.Replace(render(t, realistic(t)), "</main>", "<script>document.title = 'ran'</script></main>", 1)
	dom, _, console := browse(t, page)
	if len(console) == 0 {
		t.Error("a blocked inline script left nothing on the console: the check for console errors sees nothing")
	}
	if strings.Contains(dom, "<title>ran</title>") {
		t.Error("the inline script ran: the Content-Security-Policy did not hold")
	}
}

// TestReport_Screenshot renders the realistic report as the docs show it;
// with -update it writes the screenshot to docs/verification-report.png:
//
//	go test -run TestReport_Screenshot ./internal/report/ -update
func TestReport_Screenshot(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, report.FileName(plan.Verify))
	if err := report.Write(path, realistic(t)); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, shot, console := browse(t, string(page))
	for _, l := range console {
		t.Errorf("the browser's console: %s", l)
	}
	assertScreenshot(t, shot)
	if !*update {
		return
	}
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, shot); err != nil {
		t.Fatal(err)
	}
	if b.Len() > 300<<10 {
		t.Fatalf("the screenshot is %d KB, want under 300", b.Len()>>10)
	}
	if err := os.MkdirAll(filepath.Dir(screenshotDoc), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(screenshotDoc, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s, %d KB", screenshotDoc, b.Len()>>10)
}

// assertScreenshot checks that the screenshot is the window's size and
// shows something: many colours, not a blank page.
func assertScreenshot(t *testing.T, img image.Image) {
	t.Helper()
	b := img.Bounds()
	if b.Dx() != 1200 || b.Dy() != 1600 {
		t.Errorf("the screenshot is %dx%d, want the window's 1200x1600", b.Dx(), b.Dy())
	}
	colors := map[[3]uint32]int{}
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[[3]uint32{r >> 8, g >> 8, bl >> 8}]++
		}
	}
	if len(colors) < 20 {
		t.Errorf("the screenshot has %d colours: the page looks blank", len(colors))
	}
	for _, want := range []struct {
		name    string
		r, g, b uint32
	}{{"green's series", 0x1a, 0x7f, 0x37}, {"blue's series", 0x09, 0x69, 0xda}, {"the limit", 0xcf, 0x22, 0x2e}} {
		if colors[[3]uint32{want.r, want.g, want.b}] == 0 {
			t.Errorf("the screenshot has no pixel of %s's colour", want.name)
		}
	}
}
