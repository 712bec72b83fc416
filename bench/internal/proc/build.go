package proc

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
)

// BuildWsgate builds the wsgate binary of the working tree into dir and
// returns its path. It runs from the repository root.
func BuildWsgate(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "wsgate")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/wsgate").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build wsgate (run from the repository root): %v\n%s", err, out)
	}
	return bin, nil
}
