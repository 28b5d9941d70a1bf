package main

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// instruction is one Dockerfile instruction with its continuation lines
// joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
	line int
}

func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue // a comment inside a continued instruction
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start})
		cur.Reset()
	}
	require.NoError(t, sc.Err())
	return out
}

// TestDockerfile checks what can be checked without a Docker engine: a
// multi-stage build on the Go version of go.mod with cgo, a final stage
// that runs as a non-root user, keeps the database on /data, probes itself
// with `accessbot healthcheck`, and carries no secrets.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	ins := parseDockerfile(t, "../../Dockerfile")
	var froms []int
	for i, in := range ins {
		if in.cmd == "FROM" {
			froms = append(froms, i)
		}
	}
	require.GreaterOrEqual(t, len(froms), 2, "a multi-stage build: a build stage and a small runtime stage")
	build, final := ins[froms[0]:froms[1]], ins[froms[len(froms)-1]:]

	// The builder's Go is go.mod's.
	gomod, err := os.ReadFile("../../go.mod")
	require.NoError(t, err)
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	require.NotNil(t, goVer, "go.mod has a go line")
	assert.Regexp(t, `^golang:`+regexp.QuoteMeta(string(goVer[1]))+`[-.@\s]`, build[0].args+" ", "the build stage uses Go %s, as go.mod says", goVer[1])
	assert.Contains(t, build[0].args, " AS ", "the build stage is named, so the runtime stage copies from it")

	var buildRuns string
	for _, in := range build {
		if in.cmd == "RUN" {
			buildRuns += in.args + "\n"
		}
	}
	assert.Contains(t, buildRuns, "CGO_ENABLED=1", "the SQLite driver needs cgo")
	assert.Contains(t, buildRuns, "./cmd/accessbot")
	assert.Contains(t, buildRuns, "-static", "a static binary needs no libc in the runtime image")
	assert.Contains(t, buildRuns, "netgo", "glibc's resolver cannot work in a static binary")

	assert.NotContains(t, final[0].args, "golang", "the runtime image is not the Go toolchain")
	var user, volume, health, entry string
	env := map[string]string{}
	for _, in := range final {
		switch in.cmd {
		case "USER":
			user = in.args
		case "VOLUME":
			volume += in.args
		case "HEALTHCHECK":
			health = in.args
		case "ENTRYPOINT":
			entry = in.args
		case "ENV":
			for _, kv := range regexp.MustCompile(`(\w+)=(\S*)`).FindAllStringSubmatch(in.args, -1) {
				env[kv[1]] = kv[2]
			}
		}
	}
	require.NotEmpty(t, user, "the runtime stage sets USER")
	name, _, _ := strings.Cut(user, ":")
	assert.NotContains(t, []string{"root", "0"}, name, "the container does not run as root")
	assert.Contains(t, volume, "/data", "the database lives on a volume at /data")
	assert.True(t, strings.HasPrefix(env["ACCESSBOT_DB"], "/data/"), "ACCESSBOT_DB points into /data (got %q)", env["ACCESSBOT_DB"])
	assert.Equal(t, "/etc/accessbot/config.yaml", env["ACCESSBOT_CONFIG"], "the configuration is mounted at /etc/accessbot/config.yaml")
	assert.NotEmpty(t, env["ACCESSBOT_HTTP_ADDR"], "the endpoints listen beyond loopback in a container")
	assert.Regexp(t, `CMD \[?"?/usr/local/bin/accessbot"?,? "?healthcheck`, health, "HEALTHCHECK runs the binary's own healthcheck")
	assert.Contains(t, entry, "accessbot")

	// No secrets baked in: no token in ENV/ARG, no secret files added.
	secretName := regexp.MustCompile(`(?i)(token|secret|password|passwd|xox[a-z]-|xapp-|\.pem\b|\.key\b|\.env\b)`)
	for _, in := range ins {
		switch in.cmd {
		case "ENV", "ARG", "LABEL":
			assert.NotRegexp(t, secretName, in.args, "Dockerfile:%d: %s must not carry secrets", in.line, in.cmd)
		case "ADD":
			t.Errorf("Dockerfile:%d: use COPY, not ADD (ADD fetches URLs and unpacks archives)", in.line)
		case "COPY":
			assert.NotRegexp(t, secretName, in.args, "Dockerfile:%d: COPY must not bring secrets", in.line)
		}
	}

	// What the context leaves out.
	ignore, err := os.ReadFile("../../.dockerignore")
	require.NoError(t, err)
	for _, p := range []string{".git", "*.db", ".env", "*.pem"} {
		assert.Contains(t, strings.Fields(string(ignore)), p, ".dockerignore leaves out %s", p)
	}
}
