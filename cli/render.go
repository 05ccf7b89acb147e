package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"

	"strata/apicall"
)

// output is how a command prints: tables (UTF-8 or ASCII, coloured or
// not), or the controller's JSON with --machine-readable.
type output struct {
	w       io.Writer
	machine bool
	utf8    bool
	color   bool
	groupBy []string
}

// boxChars are the characters of a table's frame.
type boxChars struct {
	topLeft, topRight, bottomLeft, bottomRight string
	rule, headerRule, headerLeft, headerRight  string
	column                                     string
}

// tableStyle is LINSTOR's table look in the given characters: a plain
// rule around the table, columns ruled, a double rule under the header.
func tableStyle(c boxChars) table.Style {
	s := table.StyleDefault
	s.Box = table.BoxStyle{
		TopLeft: c.topLeft, TopRight: c.topRight, TopSeparator: c.rule, BottomLeft: c.bottomLeft, BottomRight: c.bottomRight, BottomSeparator: c.rule,
		Left: c.column, Right: c.column, MiddleVertical: c.column, LeftSeparator: c.headerLeft, RightSeparator: c.headerRight, MiddleSeparator: c.headerRule,
		MiddleHorizontal: c.rule, PaddingLeft: " ", PaddingRight: " ",
		Horizontal: &table.BoxStyleHorizontal{HeaderTop: c.rule, HeaderBottom: c.headerRule, RowBottom: c.rule, TitleTop: c.rule, TitleBottom: c.rule,
			HeaderMiddle: c.rule, RowTop: c.rule, RowMiddle: c.rule, FooterTop: c.rule, FooterMiddle: c.rule, FooterBottom: c.rule},
	}
	s.Format.Header = text.FormatDefault
	s.Options = table.Options{DrawBorder: true, SeparateColumns: true, SeparateHeader: true}
	return s
}

var (
	// linstorStyle: dotted column rules, rounded corners, a double rule
	// under the header.
	linstorStyle = tableStyle(boxChars{"╭", "╮", "╰", "╯", "─", "═", "╞", "╡", "┊"})
	asciiStyle   = tableStyle(boxChars{"+", "+", "+", "+", "-", "=", "|", "|", "|"})
)

// table prints rows under headers, sorted by the --groupby columns.
func (o *output) table(headers []string, rows [][]string) error {
	order := make([]int, 0, len(o.groupBy))
	for _, g := range o.groupBy {
		i := slices.IndexFunc(headers, func(h string) bool { return strings.EqualFold(h, g) })
		if i < 0 {
			return &exitError{exitUsage, fmt.Sprintf("Unknown column %q for --groupby; columns: %s", g, strings.Join(headers, ", "))}
		}
		order = append(order, i)
	}
	if len(order) > 0 {
		slices.SortStableFunc(rows, func(a, b []string) int {
			for _, i := range order {
				if c := strings.Compare(a[i], b[i]); c != 0 {
					return c
				}
			}
			return 0
		})
	}
	t := table.NewWriter()
	t.SetOutputMirror(o.w)
	t.SetStyle(asciiStyle)
	if o.utf8 {
		t.SetStyle(linstorStyle)
	}
	head := table.Row{}
	for _, h := range headers {
		head = append(head, h)
	}
	t.AppendHeader(head)
	for _, r := range rows {
		row := table.Row{}
		for _, c := range r {
			row = append(row, o.colored(c))
		}
		t.AppendRow(row)
	}
	t.Render()
	return nil
}

// stateColors colour well-known states when colours are on.
var stateColors = map[string]text.Colors{
	"Online": {text.FgGreen}, "Ok": {text.FgGreen}, "UpToDate": {text.FgGreen},
	"OFFLINE": {text.FgRed}, "Error": {text.FgRed}, "Unknown": {text.FgYellow},
}

func (o *output) colored(cell string) string {
	if c, ok := stateColors[cell]; ok && o.color {
		return c.Sprint(cell)
	}
	return cell
}

// json prints the controller's JSON as it came, indented.
func (o *output) json(raw []byte) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(o.w, string(b))
	return err
}

var levelColors = map[string]text.Colors{"ERROR": {text.FgRed, text.Bold}, "WARNING": {text.FgYellow, text.Bold}, "INFO": {text.FgCyan}, "SUCCESS": {text.FgGreen, text.Bold}}

// replies prints an ApiCallRc list as LINSTOR's client does and fails
// with exit code 10 when it holds an error.
func (o *output) replies(raw []byte) error {
	var rcs apicall.RcList
	if err := json.Unmarshal(raw, &rcs); err != nil {
		return &exitError{exitUnknown, fmt.Sprintf("The controller answered something else than LINSTOR's replies: %s", strings.TrimSpace(string(raw)))}
	}
	if o.machine {
		return o.json(raw)
	}
	failed := false
	for _, rc := range rcs {
		lvl := rc.Severity()
		failed = failed || lvl == "ERROR"
		head := lvl + ":"
		if o.color {
			head = levelColors[lvl].Sprint(head)
		}
		fmt.Fprintln(o.w, head)
		for _, part := range []struct{ name, text string }{{"Description", rc.Message}, {"Cause", rc.Cause}, {"Correction", rc.Correction}, {"Details", rc.Details}} {
			if part.text == "" {
				continue
			}
			fmt.Fprintln(o.w, part.name+":")
			for _, line := range strings.Split(part.text, "\n") {
				fmt.Fprintln(o.w, "    "+line)
			}
		}
		if len(rc.ErrorReportIDs) > 0 {
			fmt.Fprintln(o.w, "Show reports:")
			fmt.Fprintln(o.w, "    strata error-reports show "+strings.Join(rc.ErrorReportIDs, " "))
		}
	}
	if failed {
		return &exitError{code: exitAPIError}
	}
	return nil
}

// sizeUnits are the units LINSTOR's client accepts, in bytes.
var sizeUnits = map[string]float64{
	"": 1 << 30, "B": 1,
	"K": 1 << 10, "KIB": 1 << 10, "KB": 1e3,
	"M": 1 << 20, "MIB": 1 << 20, "MB": 1e6,
	"G": 1 << 30, "GIB": 1 << 30, "GB": 1e9,
	"T": 1 << 40, "TIB": 1 << 40, "TB": 1e12,
	"P": 1 << 50, "PIB": 1 << 50, "PB": 1e15,
}

var sizeRE = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$`)

// parseSize reads a size such as 500G, 100MiB or 1.5T (no unit: GiB) and
// returns KiB, rounded up.
func parseSize(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("invalid size %q: use a number with a unit such as 100M, 20G or 1TiB", s)
	}
	unit, ok := sizeUnits[strings.ToUpper(m[2])]
	if !ok {
		return 0, fmt.Errorf("invalid size unit %q: use B, K, KiB, kB, M, MiB, MB, G, GiB, GB, T, TiB, TB, P, PiB or PB", m[2])
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	f := math.Ceil(n * unit / 1024)
	if f >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	kib := int64(f)
	if kib < 1 {
		return 0, fmt.Errorf("invalid size %q: smaller than 1 KiB", s)
	}
	return kib, nil
}

// formatKiB prints a size in the largest binary unit, as LINSTOR's tables do.
func formatKiB(kib int64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	v, i := float64(kib), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
	return s + " " + units[i]
}
