package runtimes

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
)

// elfMachines maps GOARCH to the ELF machine this host can execute.
var elfMachines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "386": elf.EM_386, "arm": elf.EM_ARM,
}

// checkExecutable tells why a file cannot run here: not a script or an
// executable at all, or an executable for another OS or architecture
// (e.g. a bootstrap cross-compiled for Lambda's arm64 on an x86 laptop).
func checkExecutable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 4)
	if _, err := io.ReadFull(f, head); err != nil {
		return errors.New("the file is empty or too short to be a program")
	}
	if string(head[:2]) == "#!" {
		return nil
	}
	if runtime.GOOS != "linux" {
		return nil // other hosts' formats are left to the OS to judge
	}
	if string(head) != "\x7fELF" {
		return errors.New("not a Linux executable or script")
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return fmt.Errorf("unreadable ELF executable: %w", err)
	}
	if want, ok := elfMachines[runtime.GOARCH]; ok && ef.Machine != want {
		return fmt.Errorf("built for %s, but this machine is %s; rebuild it for linux/%s or point the handler at its Go source so Nimbus builds it", ef.Machine, runtime.GOARCH, runtime.GOARCH)
	}
	return nil
}
