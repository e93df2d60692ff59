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
