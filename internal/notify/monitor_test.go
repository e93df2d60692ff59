package notify_test

import (
	"strings"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/plan"
)

// monitored records a monitor run as the monitor stage does, and, when it
// rolled back, the rollback's entry before it.
func monitored(result, action string, checks ...plan.CheckResult) func(*plan.Plan, time.Time) {
	return func(p *plan.Plan, at time.Time) {
		p.Monitor = &plan.Monitoring{
			Verification: plan.Verification{Result: result, Target: p.TargetColor, Live: p.LiveColor, Checks: checks, Started: at.Add(-time.Minute), Finished: at},
			Bake:         "10m0s", Baseline: at.Add(-time.Minute), Action: action,
		}
		outcome := map[string]string{"pass": "ok", "fail": "negative", "inconclusive": "negative"}[result]
		if action == plan.MonitorRolledBack {
			ledger("rollback", "ok", "live = blue (fast path: monitor: fail under real traffic)", nil)(p, at)
		}
		ledger("monitor", outcome, result, map[string]string{"result": result})(p, at)
	}
}

func TestNotify_MonitorTellsTheThreadWhatItDid(t *testing.T) {
	t.Parallel()
	errRate := func(verdict string, v float64) plan.CheckResult {
		return plan.CheckResult{Name: "error-rate", Verdict: verdict, Target: num(v), Threshold: "<= 0.01", Window: "10m0s", Reason: "clear breach: the last 2 intervals breach"}
	}
	tests := []struct {
		name   string
		step   step
		head   []string // in the updated head message
		notIn  string
		values string // in the reply
	}{
		{"monitor-rolled-back", step{"monitor-rolled-back", "monitor", "negative", "monitor: fail under real traffic (failed: error-rate): rolled back to blue",
			monitored("fail", plan.MonitorRolledBack, errRate("fail", 0.081))},
			[]string{"Rolled back by monitor", "*green* was fail under real traffic", "*blue* is live again"}, "Release confirmed", "0.081"},
		{"monitor-confirmed", step{"monitor-confirmed", "monitor", "ok", "", monitored("pass", plan.MonitorConfirmed, errRate("pass", 0.002))},
			[]string{"Release confirmed", "held under real traffic for 10m0s"}, "Rolled back", "0.002"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, false)
			p := basePlan()
			var last []string
			for _, s := range append(append([]step(nil), happyPath...), tt.step) {
				calls := r.run(t, p, s)
				last = last[:0]
				for _, c := range calls {
					last = append(last, wire(c))
				}
			}
			all := strings.Join(last, "\n")
			for _, want := range tt.head {
				if !strings.Contains(all, want) {
					t.Errorf("the messages lack %q:\n%s", want, all)
				}
			}
			if strings.Contains(all, tt.notIn) {
				t.Errorf("the messages say %q:\n%s", tt.notIn, all)
			}
			if !strings.Contains(all, tt.values) || !strings.Contains(all, "*monitor*") {
				t.Errorf("the reply lacks monitor's values (%s):\n%s", tt.values, all)
			}
		})
	}
}

// The rollback job after a monitor that rolled back keeps the head saying
// who rolled back and why.
func TestNotify_TheRollbackAfterMonitorKeepsItsReason(t *testing.T) {
	t.Parallel()
	r := newRig(t, false)
	p := basePlan()
	steps := append(append([]step(nil), happyPath...),
		step{"monitor-rolled-back", "monitor", "negative", "monitor: fail under real traffic (failed: error-rate): rolled back to blue", monitored("fail", plan.MonitorRolledBack)},
		step{"rollback-after-monitor", "rollback", "ok", "live = blue", ledger("rollback", "ok", "live = blue", nil)})
	var all string
	for _, s := range steps {
		var last []string
		for _, c := range r.run(t, p, s) {
			last = append(last, wire(c))
		}
		all = strings.Join(last, "\n")
	}
	if want := "Rolled back by monitor (green was fail under real traffic): *blue* is live again"; !strings.Contains(all, want) {
		t.Errorf("the head lacks %q:\n%s", want, all)
	}
}

// verify's reply links to its HTML report among the job's artifacts, and
// only when plan.json names a plain relative path.
func TestNotify_VerifyReplyLinksToTheReport(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		report, want string
	}{
		{".bluegreen/verification.html", "/artifacts/file/.bluegreen/verification.html|verification report>"},
		{"../../../settings.html", ""},
		{"/etc/passwd.html", ""},
		{".bluegreen/x.html|evil>", ""},
		{"javascript:alert(1).html", ""},
	} {
		r := newRig(t, false)
		p := basePlan()
		var all string
		for i, s := range happyPath[:4] {
			if i == 3 {
				apply := s.apply
				s.apply = func(p *plan.Plan, at time.Time) { apply(p, at); p.Verification.Report = tt.report }
			}
			var last []string
			for _, c := range r.run(t, p, s) {
				last = append(last, wire(c))
			}
			all = strings.Join(last, "\n")
		}
		switch {
		case tt.want != "" && !strings.Contains(all, tt.want):
			t.Errorf("report %q: the verify reply lacks %q:\n%s", tt.report, tt.want, all)
		case tt.want == "" && strings.Contains(all, "Charts:"):
			t.Errorf("report %q: linked:\n%s", tt.report, all)
		}
	}
}
