package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"accessbot/config"
	"accessbot/sandbox"
)

// The sandbox registers the manifest's slash commands, no more, no less.
func TestSandboxCommandsAreTheManifests(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../slack/manifest.yaml")
	require.NoError(t, err)
	var m struct {
		Features struct {
			SlashCommands []struct {
				Command string `yaml:"command"`
			} `yaml:"slash_commands"`
		} `yaml:"features"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &m))
	var cmds []string
	for _, c := range m.Features.SlashCommands {
		cmds = append(cmds, c.Command)
	}
	assert.Equal(t, cmds, sandboxCommands)
}

// The example configuration makes a workspace of its people and channels
// and a tour with a requester, their manager and a provisioner.
func TestSandboxWorkspaceOfTheExample(t *testing.T) {
	t.Parallel()
	cat, err := config.Load("../../examples/config.yaml")
	require.NoError(t, err)
	people := sandboxPeople(cat)
	assert.Len(t, people, len(cat.People))
	zones := map[string]bool{}
	for _, p := range people {
		zones[p.TZ] = true
	}
	assert.Greater(t, len(zones), 3, "people live in several time zones")
	assert.Equal(t, []sandbox.Channel{{Ref: "#access-github", Name: "github-access"}, {Ref: "C0123ABCDE", Name: "aws-access"}}, sandboxChannels(cat))

	tour := sandboxTour(cat)
	require.NotEmpty(t, tour.Requester)
	assert.Equal(t, cat.People[tour.Requester].Manager, tour.Manager)
	assert.Equal(t, "vpn", tour.App)
	assert.Equal(t, "finn.larsen@acme.example", tour.Provisioner)
	assert.Equal(t, "8h", tour.Duration)
}
