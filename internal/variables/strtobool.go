package variables

import (
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
)

// strToBoolSource is ${strToBool(text)}: "true"/"1" and "false"/"0", in any
// case and with spaces around; anything else is an error.
func strToBoolSource(c *call) (sourceResult, error) {
	in := c.param(0)
	if in == nil || in.Kind == config.Null {
		return sourceResult{}, c.failf(`Missing "strToBool" input`)
	}
	s, ok := ensureString(in)
	if !ok {
		return sourceResult{}, c.failf(`Non-string "strToBool" input:. Received: %s`, in.Scalar())
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1":
		return found(config.NewBool(true, c.p.holder.Pos))
	case "false", "0":
		return found(config.NewBool(false, c.p.holder.Pos))
	}
	short := strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
	if len(short) > 100 {
		short = short[:99] + "…"
	}
	return sourceResult{}, c.failf(`Invalid "strToBool" input: Expected either "true", "false", "0", or "1". Received: %s`, short)
}
