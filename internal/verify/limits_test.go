package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/verify"
	"gitlab.com/platform/bluegreen/internal/verify/scenario"
)

const injection = `x"} or vector(1) #`

func TestRender_EscapesValuesSoTheyCannotCloseTheirMatcher(t *testing.T) {
	t.Parallel()
	cs, err := verify.ParseChecks("c.yaml", []byte("checks:\n- name: e\n  query: '"+okQuery+"'\n  max: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{injection, `a\"}`, "a\n} or vector(1)", `\`} {
		q, err := cs.Checks[0].Render(app, "shop", plan.Green, time.Minute)
		if err != nil {
			t.Fatalf("%q: %v", app, err)
		}
		prefix, rest, ok := strings.Cut(q, `app="`)
		value, tail, ok2 := strings.Cut(rest, `",color="green"}`)
		if !ok || !ok2 || prefix != "sum(rate(errors{" || tail != "[1m]))" {
			t.Errorf("%q: the value left its matcher: %s", app, q)
			continue
		}
		if got, err := strconv.Unquote(`"` + value + `"`); err != nil || got != app {
			t.Errorf("%q: PromQL reads the matcher as %q (%v)", app, got, err)
		}
	}
}

func TestVerify_RefusesATargetThatIsNotAValidNameBeforeAnyQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		t    verify.Target
		want string
	}{
		{"PromQL in the app", verify.Target{App: injection, Namespace: "shop", Color: plan.Green, Live: plan.Blue}, `app "x\"} or vector(1) #" is invalid`},
		{"PromQL in the namespace", verify.Target{App: "shop", Namespace: `bench"}`, Color: plan.Green, Live: plan.Blue}, `namespace "bench\"}" is invalid`},
		{"a colour that is not one", verify.Target{App: "shop", Namespace: "bench", Color: `green"}`, Live: plan.Blue}, `colour "green\"}" is not blue or green`},
		{"none under test", verify.Target{App: "shop", Namespace: "bench", Color: plan.None, Live: plan.Blue}, `colour "none" is not blue or green`},
		{"the live colour under test", verify.Target{App: "shop", Namespace: "bench", Color: plan.Blue, Live: plan.Blue}, "is the live colour too"},
	}
	for _, tt := range tests {
		st, rec, _, out := stageFor(t, "good", 1, replayed)
		rep, err := st.Verify(context.Background(), tt.t)
		if rep != nil || outcome.Code(err) != 2 || !strings.Contains(fmt.Sprint(err), tt.want) {
			t.Errorf("%s: report %v, err %v (exit %d); want exit 2 with %q", tt.name, rep, err, outcome.Code(err), tt.want)
		}
		if rec.instant != 0 || len(rec.ranges) != 0 || out.Len() != 0 {
			t.Errorf("%s: %d queries, %d range queries and output %q before the refusal", tt.name, rec.instant, len(rec.ranges), out)
		}
		p := &plan.Plan{Schema: plan.SchemaVersion, App: tt.t.App, Namespace: tt.t.Namespace, TargetColor: tt.t.Color, LiveColor: tt.t.Live}
		if _, err := st.Run(context.Background(), p); outcome.Code(err) != 2 || out.Len() != 0 || len(p.Ledger) != 0 {
			t.Errorf("%s: Run: %v, output %q, ledger %v", tt.name, err, out, p.Ledger)
		}
	}
}

func TestRun_RecordsOnlyItsOwnSectionsOfThePlan(t *testing.T) {
	t.Parallel()
	st, _, _, _ := stageFor(t, "good", 1, replayed)
	p := &plan.Plan{Schema: plan.SchemaVersion, App: scenario.App, Namespace: scenario.Namespace, Image: "r.example.com/shop:2",
		LiveColor: plan.Blue, TargetColor: plan.Green, Environment: "production"}
	identity := func(p *plan.Plan) string {
		c := *p
		c.Verification, c.Ledger = nil, nil
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	before := identity(p)
	if _, err := st.Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if after := identity(p); after != before {
		t.Errorf("Run changed the plan outside its sections:\n%s\nwant:\n%s", after, before)
	}
	if v := p.Verification; v == nil || v.Target != plan.Green || v.Live != plan.Blue || len(p.Ledger) != 1 {
		t.Errorf("verification %+v, ledger %+v", v, p.Ledger)
	}
}

// checksFile builds a checks file of n copies of a check, named c1…cn.
func checksFile(n int, check string) string {
	var b strings.Builder
	b.WriteString("checks:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "- name: c%d\n%s", i, check)
	}
	return b.String()
}

func TestParseChecks_RefusesWhatBreaksTheLimits(t *testing.T) {
	t.Parallel()
	plainCheck := "  query: '" + okQuery + "'\n  max: 1\n"
	long := strings.Repeat("x", verify.MaxQuerySize)
	tests := []struct {
		name, data string
		want       []string
	}{
		{"a file over the size limit", checksFile(1, plainCheck) + "#" + strings.Repeat("x", verify.MaxChecksFileSize), []string{"larger than 1048576 bytes (verify.MaxChecksFileSize)"}},
		{"too many checks", checksFile(verify.MaxChecks+1, plainCheck), []string{`check "c201": the file has 201 checks; at most 200 (verify.MaxChecks)`}},
		{"a long query", checksFile(1, "  query: '"+okQuery+" # "+long+"'\n  max: 1\n"), []string{`check "c1": query: longer than 65536 bytes once rendered (verify.MaxQuerySize)`}},
		{"a printf bomb", checksFile(1, "  query: '"+okQuery+` # {{printf "%01000000d" 0}}{{printf "%01000000d" 0}}'`+"\n  max: 1\n"), []string{`check "c1": query: longer than 65536 bytes`}},
		{"long only for a real app name", checksFile(1, "  query: '"+okQuery+" # "+strings.Repeat("{{.App}}", verify.MaxQuerySize/20)+"'\n  max: 1\n"), []string{`check "c1": query: longer than 65536 bytes`}},
		{"a range bomb", checksFile(1, "  query: '"+okQuery+` {{range 1000000000}}{{range 1000000000}}x{{end}}{{end}}'`+"\n  max: 1\n"), []string{`check "c1": query: template: {{range}} is not allowed`}},
		{"a recursive template", checksFile(1, "  query: '"+okQuery+` {{define "a"}}{{template "a"}}{{template "a"}}{{end}}{{template "a"}}'`+"\n  max: 1\n"), []string{`check "c1": query: template: {{define}} and {{block}} are not allowed`}},
		{"a template call in an if", checksFile(1, "  query: '"+okQuery+` {{if .App}}{{template "c1"}}{{end}}'`+"\n  max: 1\n"), []string{`check "c1": query: template: {{template}} is not allowed`}},
		{"too many evaluations", checksFile(6, plainCheck+"  window: 1000m\n  interval: 1m\n"), []string{`check "c6": interval: the file's checks make 6000 evaluations with this one; at most 5000 for the whole file (verify.MaxEvaluations)`}},
		{"too many query bytes", checksFile(5, "  query: '"+okQuery+" # "+strings.Repeat("x", 60000)+"'\n  max: 1\n"), []string{`check "c5": query: the file's queries come to`, "at most 262144 for the whole file (verify.MaxQueryTotal)"}},
	}
	for _, tt := range tests {
		_, err := verify.ParseChecks("deploy/checks.yaml", []byte(tt.data))
		if outcome.Code(err) != 2 || !strings.HasPrefix(fmt.Sprint(err), "checks file deploy/checks.yaml: ") {
			t.Errorf("%s: %v (exit %d), want exit 2 naming the file", tt.name, err, outcome.Code(err))
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %.400v\nwant %q in it", tt.name, err, w)
			}
		}
	}
	if _, err := verify.ParseChecks("c.yaml", []byte(checksFile(verify.MaxChecks, plainCheck))); err != nil {
		t.Errorf("MaxChecks checks: %v", err)
	}
}

func TestLoadChecks_ReadsAtMostTheSizeLimit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "checks.yaml")
	data := checksFile(1, "  query: '"+okQuery+"'\n  max: 1\n")
	if err := os.WriteFile(path, []byte(data+"#"+strings.Repeat("x", 8<<20)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := verify.LoadChecks(path)
	if outcome.Code(err) != 2 || !strings.Contains(fmt.Sprint(err), "checks file "+path+": larger than 1048576 bytes") {
		t.Errorf("%v", err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := verify.LoadChecks(path); err != nil {
		t.Error(err)
	}
}

func TestRender_RefusesOutputPastMaxQuerySize(t *testing.T) {
	t.Parallel()
	cs, err := verify.ParseChecks("c.yaml", []byte(checksFile(1, "  query: '"+okQuery+" # "+strings.Repeat("{{.App}}", 1000)+"'\n  max: 1\n")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = cs.Checks[0].Render(strings.Repeat("a", 100), "shop", plan.Green, time.Minute)
	if !errors.Is(err, verify.ErrQueryTooLong) || !strings.Contains(err.Error(), `check "c1": query: longer than 65536 bytes`) {
		t.Errorf("%v", err)
	}
}
