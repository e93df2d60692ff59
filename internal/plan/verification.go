package plan

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"gitlab.com/platform/bluegreen/internal/names"
)

// Verification records what `bluegreen verify` measured and decided: the
// run's result and, for every check, the query as sent, the values, the
// limit and the window. A re-run replaces it; the ledger keeps every run.
type Verification struct {
	Result     string     `json:"result"` // pass, fail, inconclusive; error when Prometheus failed or a query was rejected
	Reason     string     `json:"reason"`
	Target     Color      `json:"target"`
	Live       Color      `json:"live"`
	Prometheus string     `json:"prometheus"` // the server, without credentials
	Since      time.Time  `json:"since"`      // the start of the observation window
	DecidedAt  *time.Time `json:"decidedAt,omitempty"`
	// Score is the share of the weighted checks' weight that passed, and
	// PassScore the share needed; both absent when no check has a weight.
	Score     *Number       `json:"score,omitempty"`
	PassScore float64       `json:"passScore,omitempty"`
	Started   time.Time     `json:"started"`
	Finished  time.Time     `json:"finished"`
	Checks    []CheckResult `json:"checks"`
	// Report is the HTML report's path in the job's artifacts, e.g.
	// .bluegreen/verification.html; "" when none was written.
	Report string `json:"report,omitempty"`
}

// CheckResult is one check's verdict and the numbers behind it.
type CheckResult struct {
	Name      string          `json:"name"`
	Verdict   string          `json:"verdict"` // pass, fail, inconclusive, undecided, skipped
	Critical  bool            `json:"critical"`
	Weight    float64         `json:"weight,omitempty"`
	Reason    string          `json:"reason"`
	Query     string          `json:"query"`               // as sent for the target colour, over the observed span
	LiveQuery string          `json:"liveQuery,omitempty"` // as sent for the live colour
	Target    *Number         `json:"target"`              // the target colour's value over the observed span; null: no data
	Live      *Number         `json:"live,omitempty"`
	Threshold string          `json:"threshold"`
	Window    string          `json:"window"`   // e.g. 10m0s
	Interval  string          `json:"interval"` // e.g. 1m0s
	Observed  string          `json:"observed"` // the span the verdict rests on
	Samples   int             `json:"samples"`  // intervals with a value
	Intervals int             `json:"intervals"`
	Breaches  int             `json:"breaches"`
	Values    []IntervalValue `json:"values,omitempty"`
	Warnings  []string        `json:"warnings,omitempty"` // Prometheus's warnings, never data
}

// IntervalValue is one interval's values.
type IntervalValue struct {
	At     time.Time `json:"at"` // the end of the interval
	Target *Number   `json:"target"`
	Live   *Number   `json:"live,omitempty"`
	Breach bool      `json:"breach,omitempty"`
}

// Number is a float that survives JSON: finite values are numbers, and
// NaN, +Inf and -Inf are the strings "NaN", "+Inf" and "-Inf" (Prometheus's
// own spelling).
type Number float64

// MarshalJSON writes finite values as numbers and the rest as strings.
func (n Number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	switch {
	case math.IsNaN(f):
		return []byte(`"NaN"`), nil
	case math.IsInf(f, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-Inf"`), nil
	}
	return []byte(strconv.FormatFloat(f, 'g', -1, 64)), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (n *Number) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("number %s: %w", names.Quote(s), err)
		}
		*n = Number(f)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("number %s: %w", names.Quote(string(b)), err)
	}
	*n = Number(f)
	return nil
}
