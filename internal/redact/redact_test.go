package redact

import (
	"net/url"
	"strings"
	"testing"
)

func TestURL_MasksCredentialsOnly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"no credentials", "https://prometheus.example.com:9090/prom?query=up&step=30s", "https://prometheus.example.com:9090/prom?query=up&step=30s"},
		{"password", "https://bob:hunter2@prometheus.example.com/", "https://bob:xxxxx@prometheus.example.com/"},
		{"user without password", "https://bob@prometheus.example.com/", "https://bob@prometheus.example.com/"},
		{"password with an @", "https://bob:p@ss@h.example.com/x", "https://bob:xxxxx@h.example.com/x"},
		{"a password with a '?' or a '#'", "https://bob:p?s#s@h.example.com/", "https://bob:xxxxx@h.example.com/"},
		{"an @ in the query is no userinfo", "https://h.example.com/x?email=a:b@c", "https://h.example.com/x?email=a:b@c"},
		{"private_token", "https://gitlab.example.com/api/v4/projects/1?private_token=s3cret&per_page=20", "https://gitlab.example.com/api/v4/projects/1?private_token=[redacted]&per_page=20"},
		{"access_token, any case", "https://h.example.com/?ACCESS_TOKEN=s3cret", "https://h.example.com/?ACCESS_TOKEN=[redacted]"},
		{"job_token and token", "https://h.example.com/?job_token=a1&token=b2", "https://h.example.com/?job_token=[redacted]&token=[redacted]"},
		{"api keys", "https://h.example.com/?api_key=a1&apikey=b2&key=c3&api-key=d4", "https://h.example.com/?api_key=[redacted]&apikey=[redacted]&key=[redacted]&api-key=[redacted]"},
		{"secret and password", "https://h.example.com/?client_secret=a1&password=b2&secret=c3", "https://h.example.com/?client_secret=[redacted]&password=[redacted]&secret=[redacted]"},
		{"S3 presigned", "https://b.s3.amazonaws.com/o?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abcd&X-Amz-Security-Token=tok",
			"https://b.s3.amazonaws.com/o?X-Amz-Algorithm=AWS4&X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]&X-Amz-Security-Token=[redacted]"},
		{"Azure SAS", "https://a.blob.core.windows.net/c?sv=2020&sig=abc%3D", "https://a.blob.core.windows.net/c?sv=2020&sig=[redacted]"},
		{"auth and authorization", "https://h.example.com/?auth=a1&Authorization=Bearer%20b2", "https://h.example.com/?auth=[redacted]&Authorization=[redacted]"},
		{"escaped name", "https://h.example.com/?private%5Ftoken=s3cret", "https://h.example.com/?private%5Ftoken=[redacted]"},
		{"semicolons", "https://h.example.com/?a=1;token=s3cret", "https://h.example.com/?a=1;token=[redacted]"},
		{"a second question mark", "https://h.example.com/?a=1?private_token=s3cret", "https://h.example.com/?a=1?private_token=[redacted]"},
		{"fragment", "https://app.example.com/cb#access_token=s3cret&state=x", "https://app.example.com/cb#access_token=[redacted]&state=x"},
		{"empty value", "https://h.example.com/?token=", "https://h.example.com/?token=[redacted]"},
		{"name without value", "https://h.example.com/?token", "https://h.example.com/?token"},
		{"unparsable is masked too", "http://bob:hunter2@h.example.com:port/?token=s3cret%zz", "http://bob:xxxxx@h.example.com:port/?token=[redacted]"},
		{"not a URL", "prometheus", "prometheus"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := URL(tt.in); got != tt.want {
				t.Errorf("URL(%q)\n = %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// The password is masked as net/url masks it, so that messages read the
// same whichever masked them.
func TestURL_PasswordAsNetURLRedacted(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"https://bob:hunter2@h.example.com/x", "http://u:p@h:9090"} {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := URL(s), u.Redacted(); got != want {
			t.Errorf("URL(%q) = %q, url.Redacted = %q", s, got, want)
		}
	}
}

func TestText_MasksEveryURLInMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"Go HTTP error", `Get "https://gitlab.example.com/api/v4/user?private_token=s3cret": dial tcp: connection refused`,
			`Get "https://gitlab.example.com/api/v4/user?private_token=[redacted]": dial tcp: connection refused`},
		{"two URLs", "from https://a.example.com/?access_token=one to http://u:pw@b.example.com/",
			"from https://a.example.com/?access_token=[redacted] to http://u:xxxxx@b.example.com/"},
		{"single quotes and brackets", "'https://h.example.com/?token=one' <https://h.example.com/?sig=two>",
			"'https://h.example.com/?token=[redacted]' <https://h.example.com/?sig=[redacted]>"},
		{"end of sentence", "see https://h.example.com/?token=s3cret.", "see https://h.example.com/?token=[redacted]."},
		{"before a colon", "query at http://h:1/p?token=s3cret: connection refused", "query at http://h:1/p?token=[redacted]: connection refused"},
		{"in parentheses", "(https://h.example.com/?sig=s3cret)", "(https://h.example.com/?sig=[redacted])"},
		{"other schemes", "redis://:pw@cache:6379/0 and grpc+https://argocd?token=t", "redis://:xxxxx@cache:6379/0 and grpc+https://argocd?token=[redacted]"},
		{"a path without its URL", "GET /api/v4/projects/1?private_token=s3cret&page=2 401", "GET /api/v4/projects/1?private_token=[redacted]&page=2 401"},
		{"a parameter inside another's value", "&0=?access_token=000000", "&0=?access_token=[redacted]"},
		{"on several lines", "line 1\nhttps://h.example.com/?job_token=s3cret\nline 3", "line 1\nhttps://h.example.com/?job_token=[redacted]\nline 3"},
		{"nothing to mask", "check \"errors\" failed: 0.2 > 0.05 (https://grafana.example.com/d/x?orgId=1)", "check \"errors\" failed: 0.2 > 0.05 (https://grafana.example.com/d/x?orgId=1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Text(tt.in)
			if got != tt.want {
				t.Errorf("Text(%q)\n = %q\nwant %q", tt.in, got, tt.want)
			}
			if again := Text(got); again != got {
				t.Errorf("Text is not idempotent: %q then %q", got, again)
			}
		})
	}
}

func TestScrubber_MasksConfiguredSecretsAndURLs(t *testing.T) {
	t.Parallel()
	const token = "glpat-configured-1234"
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"configured token", []string{token, ""}, "auth with " + token + " failed", "auth with [redacted] failed"},
		{"and a URL", []string{token}, token + " at https://h.example.com/?access_token=other", "[redacted] at https://h.example.com/?access_token=[redacted]"},
		{"short values are not searched for", []string{"abc"}, "abc at abcdef", "abc at abcdef"},
		{"no secrets still masks URLs", nil, "https://h.example.com/?token=t", "https://h.example.com/?token=[redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Scrubber(tt.secrets...)(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if strings.Contains(Scrubber(tt.secrets...)(tt.in), token) {
				t.Error("configured token leaked")
			}
		})
	}
}

func FuzzText_NeverShowsAQueryCredential(f *testing.F) {
	f.Add("https://h.example.com/?private_token=", "s3cretvalue")
	f.Add("x ?access_token=", "abcdefgh")
	f.Fuzz(func(t *testing.T, prefix, value string) {
		if len(value) < 6 || strings.ContainsAny(value, "&;#?\"'<>` \t\r\n\f\v") || strings.Contains(prefix, value) {
			t.Skip()
		}
		if !strings.HasSuffix(prefix, "?private_token=") && !strings.HasSuffix(prefix, "?access_token=") {
			t.Skip()
		}
		if out := Text(prefix + value); strings.Contains(out, value) {
			t.Errorf("Text(%q) = %q shows the value", prefix+value, out)
		}
	})
}
