package releasenotes

import (
	"errors"
	"os"
	"strings"
	"testing"
)

const sample = `# Changelog

All notable changes.

## [Unreleased]

### Added

- A thing.

## [0.2.0] - 2026-12-01

### Fixed

- A bug.

## [0.1.0] - 2026-11-25

### Added

- The first release.

[Unreleased]: https://example.com/compare/v0.2.0...HEAD
[0.2.0]: https://example.com/compare/v0.1.0...v0.2.0
`

func TestSection(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version, want string
		err           error
	}{
		{"Unreleased", "### Added\n\n- A thing.\n", nil},
		{"unreleased", "### Added\n\n- A thing.\n", nil},
		{"v0.2.0", "### Fixed\n\n- A bug.\n", nil},
		{"0.1.0", "### Added\n\n- The first release.\n", nil},
		{"0.3.0", "", ErrNoSection},
		{"0.2", "", ErrNoSection},
	} {
		got, err := Section([]byte(sample), tc.version)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: error %v, want %v", tc.version, err, tc.err)
		}
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.version, got, tc.want)
		}
	}
}

func TestSectionEmpty(t *testing.T) {
	t.Parallel()
	_, err := Section([]byte("## [Unreleased]\n\n### Added\n\n## [0.1.0] - 2026-11-25\n\n- x\n"), Unreleased)
	if !errors.Is(err, ErrEmptySection) {
		t.Fatalf("error %v, want ErrEmptySection", err)
	}
}

// TestChangelog: the repository's CHANGELOG.md has an Unreleased section
// with entries, and every version heading is in Keep a Changelog form.
func TestChangelog(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Section(src, Unreleased); err != nil {
		t.Errorf("CHANGELOG.md: %v", err)
	}
	for _, line := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(line, "## ") && !sectionRE.MatchString(line) {
			t.Errorf("CHANGELOG.md: heading %q is not \"## [version] - YYYY-MM-DD\" or \"## [Unreleased]\"", line)
		}
	}
}

func FuzzSection(f *testing.F) {
	f.Add([]byte(sample), "0.2.0")
	f.Fuzz(func(t *testing.T, changelog []byte, version string) {
		if s, err := Section(changelog, version); err == nil && !strings.HasSuffix(s, "\n") {
			t.Fatalf("section without a final newline: %q", s)
		}
	})
}
