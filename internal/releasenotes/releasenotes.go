// Package releasenotes takes a release's notes from CHANGELOG.md, which is
// kept by hand in Keep a Changelog form (https://keepachangelog.com): one
// "## [version] - date" section per release, newest first, under an
// "## [Unreleased]" section for what has landed since.
package releasenotes

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Unreleased names the section of changes not yet in a release.
const Unreleased = "Unreleased"

// ErrNoSection is returned when the changelog has no section for the
// version asked for.
var ErrNoSection = errors.New("the changelog has no section for this version")

// ErrEmptySection is returned when the version's section has no entries: a
// release whose notes say nothing is a changelog that was not kept.
var ErrEmptySection = errors.New("the changelog's section for this version is empty")

// sectionRE matches a version heading: "## [1.2.3] - 2026-12-02" or
// "## [Unreleased]".
var sectionRE = regexp.MustCompile(`^## \[([^\]]+)\](?:\s+-\s+(\d{4}-\d{2}-\d{2}))?\s*$`)

// Section returns the body of version's section (without its heading and
// without the link references at the end of the file). version may carry a
// leading "v"; "Unreleased" (any case) names the unreleased section.
func Section(changelog []byte, version string) (string, error) {
	want := strings.TrimPrefix(version, "v")
	var body []string
	found := false
	sc := bufio.NewScanner(bytes.NewReader(changelog))
	for sc.Scan() {
		line := sc.Text()
		if m := sectionRE.FindStringSubmatch(line); m != nil {
			if found {
				break
			}
			found = strings.EqualFold(strings.TrimPrefix(m[1], "v"), want)
			continue
		}
		if !found {
			continue
		}
		if strings.HasPrefix(line, "## ") || linkRefRE.MatchString(line) {
			break
		}
		body = append(body, line)
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("reading the changelog: %w", err)
	}
	if !found {
		return "", fmt.Errorf("%w: %s", ErrNoSection, version)
	}
	text := strings.TrimSpace(strings.Join(body, "\n"))
	if !hasEntry(text) {
		return "", fmt.Errorf("%w: %s", ErrEmptySection, version)
	}
	return text + "\n", nil
}

// linkRefRE matches the link references Keep a Changelog ends with:
// "[1.2.3]: https://...".
var linkRefRE = regexp.MustCompile(`^\[[^\]]+\]:\s`)

// hasEntry reports whether a section holds at least one list item.
func hasEntry(text string) bool {
	for _, line := range strings.Split(text, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "* ") {
			return true
		}
	}
	return false
}
