package junit

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestEncode_IsValidJUnitWithTotalsAndNoEmptyProperties(t *testing.T) {
	t.Parallel()
	s := Suite{Name: "drift production", Timestamp: "2026-11-26T10:00:00", Tests: 2, Failures: 1,
		Cases: []Case{{Name: "a", Classname: "c"}, {Name: "b", Classname: "c", Failure: &Problem{Type: "dangerous", Message: "image <differs>", Body: "x & y"}}}}
	b, err := Encode(Single("bluegreen drift", s))
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	if !strings.HasPrefix(out, xml.Header) || strings.Contains(out, "properties") || strings.Contains(out, `time=`) {
		t.Fatalf("unexpected document:\n%s", out)
	}
	var back Suites
	if err := xml.Unmarshal(b, &back); err != nil {
		t.Fatalf("not valid XML: %v\n%s", err, out)
	}
	if back.Tests != 2 || back.Failures != 1 || back.Suites[0].Cases[1].Failure.Message != "image <differs>" {
		t.Fatalf("round trip: %+v", back)
	}
	with := s
	with.Time = "1.5"
	with.Properties = &Properties{List: []Property{{Name: "verdict", Value: "pass"}}}
	b, _ = Encode(Single("bluegreen verify", with))
	if !strings.Contains(string(b), `<property name="verdict" value="pass"></property>`) || !strings.Contains(string(b), `time="1.5"`) {
		t.Fatalf("properties or time missing:\n%s", b)
	}
}

func TestEncode_MasksCredentialsInEveryText(t *testing.T) {
	t.Parallel()
	const leak = "https://gitlab.example.com/api/v4/projects/1?private_token=s3cret-pt&access_token=s3cret-at"
	problem := func() *Problem {
		return &Problem{Type: "error", Message: "GET " + leak + " failed", Body: "body " + leak}
	}
	s := Suite{Name: "verify " + leak, Tests: 3, Failures: 1, Errors: 1, Skipped: 1,
		Properties: &Properties{List: []Property{{Name: "prometheus", Value: "https://u:s3cret-pw@prom.example.com/?sig=s3cret-sig"}}},
		Cases: []Case{
			{Name: "a " + leak, Classname: "c", SystemOut: "query at " + leak, Failure: problem()},
			{Name: "b", Classname: "c", Error: problem()},
			{Name: "c", Classname: "c", Skipped: problem()},
		}}
	doc := Single("bluegreen "+leak, s)
	b, err := Encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, secret := range []string{"s3cret-pt", "s3cret-at", "s3cret-pw", "s3cret-sig"} {
		if strings.Contains(out, secret) {
			t.Errorf("report shows %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "private_token=[redacted]") || !strings.Contains(out, "https://u:xxxxx@prom.example.com/") {
		t.Errorf("masks missing:\n%s", out)
	}
	if !strings.Contains(doc.Suites[0].Cases[0].Failure.Message, "s3cret-pt") || !strings.Contains(s.Properties.List[0].Value, "s3cret-pw") {
		t.Error("Encode changed the caller's document")
	}
}
