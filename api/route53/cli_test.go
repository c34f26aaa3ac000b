package route53_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// awsCLI returns the AWS CLI to test with: $HEALTHDNS_AWS_CLI, else "aws"
// on the PATH (Debian's awscli package installs it).
func awsCLI(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HEALTHDNS_AWS_CLI"); p != "" {
		return p
	}
	p, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the AWS CLI is not installed (Debian: apt-get install awscli; or set HEALTHDNS_AWS_CLI)")
	}
	return p
}

// cli runs the AWS CLI against the stack with the given secret; it returns
// stdout and stderr and whether the command succeeded.
func (s *stack) cli(t *testing.T, bin, secret string, args ...string) (string, string, bool) {
	t.Helper()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--endpoint-url", s.url, "--output", "json", "route53"}, args...)...)
	// The user's own AWS settings must not leak in.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "AWS_ACCESS_KEY_ID="+testKeyID, "AWS_SECRET_ACCESS_KEY="+secret,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE="+empty, "AWS_SHARED_CREDENTIALS_FILE="+empty,
		"AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true", "AWS_CLI_AUTO_PROMPT=off")
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("aws %v: timed out", args)
	}
	return stdout.String(), stderr.String(), err == nil
}

func (s *stack) cliJSON(t *testing.T, bin string, out any, args ...string) {
	t.Helper()
	stdout, stderr, ok := s.cli(t, bin, testSecret, args...)
	if !ok {
		t.Fatalf("aws route53 %s failed:\n%s%s", strings.Join(args, " "), stdout, stderr)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(stdout), out); err != nil {
			t.Fatalf("aws route53 %s: %v\n%s", args[0], err, stdout)
		}
	}
}

// TestAWSCLI is the fourth acceptance check: the AWS CLI with
// --endpoint-url creates a zone, changes and lists record sets and reads
// the change status.
func TestAWSCLI(t *testing.T) {
	bin := awsCLI(t)
	s := startStack(t, stackOptions{})
	version, _ := exec.Command(bin, "--version").CombinedOutput()
	t.Logf("AWS CLI: %s", strings.TrimSpace(string(version)))

	var created struct {
		HostedZone struct{ Id, Name string }
		ChangeInfo struct{ Id, Status string }
	}
	s.cliJSON(t, bin, &created, "create-hosted-zone", "--name", "cli.test", "--caller-reference", "cli-1",
		"--hosted-zone-config", "Comment=from the CLI")
	id := strings.TrimPrefix(created.HostedZone.Id, "/hostedzone/")
	if created.HostedZone.Name != "cli.test." || id == created.HostedZone.Id || !strings.HasPrefix(created.ChangeInfo.Id, "/change/") {
		t.Fatalf("create-hosted-zone: %+v", created)
	}

	batch := `{"Comment":"cli batch","Changes":[
 {"Action":"CREATE","ResourceRecordSet":{"Name":"www.cli.test","Type":"A","TTL":300,"ResourceRecords":[{"Value":"192.0.2.1"},{"Value":"192.0.2.2"}]}},
 {"Action":"CREATE","ResourceRecordSet":{"Name":"w.cli.test","Type":"A","TTL":60,"SetIdentifier":"a","Weight":10,"ResourceRecords":[{"Value":"192.0.2.3"}]}},
 {"Action":"CREATE","ResourceRecordSet":{"Name":"w.cli.test","Type":"A","TTL":60,"SetIdentifier":"b","Weight":20,"ResourceRecords":[{"Value":"192.0.2.4"}]}},
 {"Action":"CREATE","ResourceRecordSet":{"Name":"cli.test","Type":"TXT","TTL":300,"ResourceRecords":[{"Value":"\"hello from the cli\""}]}}]}`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "batch.json"), []byte(batch), 0o600); err != nil {
		t.Fatal(err)
	}
	var changed struct {
		ChangeInfo struct{ Id, Status, Comment string }
	}
	s.cliJSON(t, bin, &changed, "change-resource-record-sets", "--hosted-zone-id", id, "--change-batch", "file://"+filepath.Join(dir, "batch.json"))
	if !strings.HasPrefix(changed.ChangeInfo.Id, "/change/C") || changed.ChangeInfo.Comment != "cli batch" {
		t.Fatalf("change-resource-record-sets: %+v", changed)
	}
	poll(t, "get-change to say INSYNC", func() bool {
		var got struct{ ChangeInfo struct{ Id, Status string } }
		s.cliJSON(t, bin, &got, "get-change", "--id", changed.ChangeInfo.Id)
		return got.ChangeInfo.Status == "INSYNC"
	})

	// The CLI pages by itself; --page-size 1 makes it send Start* five times.
	var listed struct {
		ResourceRecordSets []struct {
			Name, Type, SetIdentifier string
			Weight                    *int64
			ResourceRecords           []struct{ Value string }
		}
	}
	s.cliJSON(t, bin, &listed, "list-resource-record-sets", "--hosted-zone-id", id, "--page-size", "1")
	var got []string
	for _, rs := range listed.ResourceRecordSets {
		got = append(got, rs.Name+" "+rs.Type+" "+rs.SetIdentifier)
	}
	want := []string{"cli.test. NS ", "cli.test. SOA ", "cli.test. TXT ", "w.cli.test. A a", "w.cli.test. A b", "www.cli.test. A "}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("list-resource-record-sets: %q, want %q", got, want)
	}
	if a, _ := s.dig(t, "www.cli.test", 1); !reflect.DeepEqual(a, []string{"192.0.2.1", "192.0.2.2"}) {
		t.Errorf("dig www.cli.test: %v", a)
	}

	var zonesOut struct{ HostedZones []struct{ Id, Name string } }
	s.cliJSON(t, bin, &zonesOut, "list-hosted-zones")
	if len(zonesOut.HostedZones) != 1 || zonesOut.HostedZones[0].Name != "cli.test." {
		t.Errorf("list-hosted-zones: %+v", zonesOut)
	}

	// A wrong secret is refused, naming Route 53's error.
	_, stderr, ok := s.cli(t, bin, "wrong-secret", "list-hosted-zones")
	if ok || !strings.Contains(stderr, "SignatureDoesNotMatch") {
		t.Errorf("wrong secret: ok=%v stderr %s", ok, stderr)
	}
	// An invalid batch shows its messages.
	_, stderr, ok = s.cli(t, bin, testSecret, "change-resource-record-sets", "--hosted-zone-id", id, "--change-batch", "file://"+filepath.Join(dir, "batch.json"))
	if ok || !strings.Contains(stderr, "InvalidChangeBatch") || !strings.Contains(stderr, "already exists") {
		t.Errorf("repeated batch: ok=%v stderr %s", ok, stderr)
	}
}
