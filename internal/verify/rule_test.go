package verify

import (
	"math"
	"strings"
	"testing"
	"time"
)

func f(v float64) *float64 { return &v }

func TestJudge_NormalisesEveryLimit(t *testing.T) {
	t.Parallel()
	inc := &Compare{With: "live", MaxIncrease: &Delta{Value: 0.2, Relative: true}}
	abs := &Compare{With: "live", MaxIncrease: &Delta{Value: 0.005}}
	dec := &Compare{With: "live", MaxDecrease: &Delta{Value: 0.1, Relative: true}}
	tests := []struct {
		name     string
		c        Check
		g, b     value
		want     float64
		compared bool
	}{
		{"max", Check{Max: f(0.01)}, newValue(0.02), value{}, 2, false},
		{"min", Check{Min: f(0.99)}, newValue(0.9), value{}, 1.1, false},
		{"min at zero is infinitely bad", Check{Min: f(0.99)}, newValue(0), value{}, limitMax, false},
		{"max of zero: any error breaches", Check{Max: f(0)}, newValue(0.001), value{}, limitMax, false},
		{"max of zero: none is fine", Check{Max: f(0)}, newValue(0), value{}, 0, false},
		{"relative increase", Check{Compare: inc}, newValue(0.36), newValue(0.3), 1, true},
		{"absolute increase", Check{Compare: abs}, newValue(0.012), newValue(0.001), 2, true},
		{"relative decrease", Check{Compare: dec}, newValue(0.45), newValue(1), 2, true},
		{"the worst limit wins", Check{Max: f(1), Compare: inc}, newValue(0.5), newValue(0.25), 0.5 / 0.3, true},
		{"no live value: only the absolute limit", Check{Max: f(1), Compare: inc}, newValue(0.5), value{State: absent}, 0.5, false},
		{"relative to zero is impossible", Check{Compare: inc}, newValue(0.5), newValue(0), math.NaN(), false},
		{"NaN is no value", Check{Max: f(1)}, value{V: math.NaN(), State: isNaN}, value{}, math.NaN(), false},
	}
	for _, tt := range tests {
		r, compared := tt.c.judge(tt.g, tt.b, true)
		if compared != tt.compared || !(math.Abs(r-tt.want) < 1e-9 || math.IsNaN(r) && math.IsNaN(tt.want)) {
			t.Errorf("%s: judge = %v (compared %v), want %v (%v)", tt.name, r, compared, tt.want, tt.compared)
		}
	}
}

func TestMannKendall(t *testing.T) {
	t.Parallel()
	if z := mannKendall([]float64{1, 2, 3, 4, 5, 6, 7, 8}); math.Abs(z-27/math.Sqrt(8*7*21/18.0)) > 1e-9 {
		t.Errorf("rising: z = %v", z)
	}
	if z := mannKendall([]float64{8, 7, 6, 5, 4, 3}); z >= 0 {
		t.Errorf("falling: z = %v", z)
	}
	if z := mannKendall([]float64{0, 0, 0, 0, 0}); z != 0 {
		t.Errorf("flat: z = %v", z)
	}
	// ties: S = 9, variance (6·5·17 − 2·3·2·11)/18 = 21
	if z := mannKendall([]float64{0, 0, 0, 1, 1, 1}); math.Abs(z-8/math.Sqrt(21)) > 1e-9 {
		t.Errorf("tied: z = %v, want %v", z, 8/math.Sqrt(21))
	}
}

func TestFittedEnd(t *testing.T) {
	t.Parallel()
	end, se := fittedEnd([]float64{1, 2, 3, 4})
	if math.Abs(end-4) > 1e-9 || se != 0 {
		t.Errorf("a line: end %v, se %v", end, se)
	}
	if _, se := fittedEnd([]float64{1, 3, 2, 5, 4}); se <= 0 || math.IsInf(se, 0) {
		t.Errorf("noisy: se %v", se)
	}
}

// ev builds the evidence a rule sees, for a check with max 1 over n
// intervals, from normalised values (NaN: no data). Aggregates are the
// means, as for a query without {{.Window}}.
func ev(n int, rs ...float64) *evidence {
	c := &Check{Name: "c", Max: f(1), Window: time.Duration(n) * time.Minute, Interval: time.Minute, NoData: Fail, Critical: true}
	e := &evidence{check: c, target: "green", live: "blue", runNoise: math.NaN()}
	for i, r := range rs {
		v := newValue(r)
		if math.IsNaN(r) {
			v = value{State: absent}
		}
		e.add(observation{Index: i + 1, Green: v})
	}
	if k, _ := e.runLength(); k > 0 {
		e.run = e.judged(aggregate{}, k)
		e.sofar = e.judged(aggregate{}, len(e.data()))
	}
	if len(rs) == n {
		e.whole = e.judged(aggregate{}, len(e.data()))
	}
	return e
}

func TestRule_Decides(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	tests := []struct {
		name    string
		n       int
		rs      []float64
		verdict Verdict // "" = not decided yet
		reason  string
	}{
		{"one interval is never enough", 10, []float64{9}, "", ""},
		{"two clear intervals fail", 10, []float64{5, 5.5}, Fail, "clear breach: the last 2 intervals breach"},
		{"a spike then a recovery waits", 10, []float64{5, 0.5}, "", ""},
		{"two spikes after a noisy history wait", 10, []float64{0.2, 1.9, 0.1, 2.2, 0.3, 1.4, 1.6}, "", ""},
		{"a marginal breach is not clear yet", 10, []float64{1.2, 1.25}, "", ""},
		{"a steady marginal breach becomes clear", 10, []float64{1.5, 1.52, 1.49, 1.51}, Fail, "clear breach: the last 4 intervals breach"},
		{"a rise into a breach fails", 10, []float64{0.5, 0.6, 0.7, 0.8, 0.9, 1.05, 1.1}, Fail, "rising breach"},
		{"no data is decided once coverage is out of reach", 10, []float64{nan, nan, nan}, Fail, "no data: green had no value in 3 of 3 intervals"},
		{"two gaps are tolerated", 10, []float64{nan, 0.5, nan}, "", ""},
		{"a pass needs the whole window", 10, []float64{0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, "", ""},
		{"the whole window within the limit passes", 10, []float64{0.5, 0.6, 0.4, 0.5, 1.3, 0.5, 0.6, 0.4, 0.5, 0.5}, Pass, "within the limit over the whole window"},
		{"a borderline window is inconclusive", 10, []float64{0.4, 1.6, 0.5, 1.5, 0.6, 1.7, 0.4, 1.5, 0.5, 1.4}, Inconclusive, "borderline"},
		{"a window ending in a breach fails", 10, []float64{0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.4, 1.45, 1.5}, Fail, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := ev(tt.n, tt.rs...)
			d, ok := DefaultRule.decide(e, len(tt.rs) == tt.n)
			if !ok {
				d.Verdict = ""
			}
			if d.Verdict != tt.verdict || !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("decide = %q %q, want %q containing %q", d.Verdict, d.Reason, tt.verdict, tt.reason)
			}
		})
	}
}

func TestRule_HalfIntervalNoiseSlowsAThinRun(t *testing.T) {
	t.Parallel()
	e := ev(10, 2, 2.1)
	if _, ok := DefaultRule.decide(e, false); !ok {
		t.Fatal("two steady intervals at 2× should fail")
	}
	e.runNoise = 2 // the half-interval values swing wildly: a handful of requests
	if d, ok := DefaultRule.decide(e, false); ok {
		t.Fatalf("a run resting on a few requests failed: %s", d.Reason)
	}
}
