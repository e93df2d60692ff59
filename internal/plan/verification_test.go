package plan

import (
	"encoding/json"
	"math"
	"testing"
)

func TestNumber_SurvivesJSONIncludingNaNAndInf(t *testing.T) {
	t.Parallel()
	for _, f := range []float64{0, 0.0123, -2.5e-9, 1e300, math.NaN(), math.Inf(1), math.Inf(-1)} {
		n := Number(f)
		b, err := json.Marshal(IntervalValue{Target: &n})
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		var back IntervalValue
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		got := float64(*back.Target)
		if got != f && !(math.IsNaN(got) && math.IsNaN(f)) {
			t.Errorf("%v → %s → %v", f, b, got)
		}
	}
	var n Number
	if err := json.Unmarshal([]byte(`"lots"`), &n); err == nil {
		t.Error(`"lots" must not parse`)
	}
}
