// entersys native stubs: Go-shaped linux/amd64 system-call entry points.
// Every stub takes one argument, a `struct es_block *` (es_abi.h), in %rdi.
// Go 1.14 placement (src/syscall/asm_linux_amd64.s): Syscall/Syscall6 call the enter hook
// before loading registers and SYSCALL, and the exit hook after the results are stored, on
// both the error and the ok path; RawSyscall/RawSyscall6 call no hook.
#include "es_abi.h"
#ifndef GOMAP_INC
#define GOMAP_INC "gomap.inc"
#endif
#include GOMAP_INC

	.text

// CALL_HOOK off: call the hook at off(%rbx) with hook_ctx, if it is not NULL.
.macro CALL_HOOK off
	movq	\off(%rbx), %rax
	testq	%rax, %rax
	jz	.Lnohook\@
	movq	ES_OFF_HOOKCTX(%rbx), %rdi
	call	*%rax
.Lnohook\@:
.endm

// LOAD_ARGS n: trap and the first n arguments into the syscall registers; the rest zeroed
// (Go's Syscall passes 0 in R10, R8, R9).
.macro LOAD_ARGS3
	movq	ES_OFF_A1(%rbx), %rdi
	movq	ES_OFF_A2(%rbx), %rsi
	movq	ES_OFF_A3(%rbx), %rdx
	xorl	%r10d, %r10d
	xorl	%r8d, %r8d
	xorl	%r9d, %r9d
	movq	ES_OFF_TRAP(%rbx), %rax
.endm

.macro LOAD_ARGS6
	movq	ES_OFF_A1(%rbx), %rdi
	movq	ES_OFF_A2(%rbx), %rsi
	movq	ES_OFF_A3(%rbx), %rdx
	movq	ES_OFF_A4(%rbx), %r10
	movq	ES_OFF_A5(%rbx), %r8
	movq	ES_OFF_A6(%rbx), %r9
	movq	ES_OFF_TRAP(%rbx), %rax
.endm

// STORE_RAW / STORE_RESULTS: record the kernel's registers, then Go's (r1, r2, err).
.macro STORE_RAW
	movq	%rax, ES_OFF_RAW_RAX(%rbx)
	movq	%rdx, ES_OFF_RAW_RDX(%rbx)
.endm

.macro STORE_RESULTS
	movq	%rax, ES_OFF_R1(%rbx)
	movq	%rdx, ES_OFF_R2(%rbx)
	movq	%rcx, ES_OFF_ERR(%rbx)
.endm

.macro GO_STUB name, nargs, hooks
	.globl	\name
	.type	\name, @function
\name:
	.cfi_startproc
	pushq	%rbx
	.cfi_def_cfa_offset 16
	.cfi_offset %rbx, -16
	movq	%rdi, %rbx
	.if \hooks
	CALL_HOOK ES_OFF_ENTER
	.endif
	LOAD_ARGS\nargs
	syscall
	STORE_RAW
	GO_ERRNO_MAP
	STORE_RESULTS
	.if \hooks
	CALL_HOOK ES_OFF_EXIT
	.endif
	popq	%rbx
	.cfi_def_cfa_offset 8
	ret
	.cfi_endproc
	.size	\name, .-\name
.endm

// Go 1.14 src/syscall/asm_linux_amd64.s
GO_STUB es_Syscall, 3, 1
GO_STUB es_Syscall6, 6, 1
GO_STUB es_RawSyscall, 3, 0
GO_STUB es_RawSyscall6, 6, 0

// Go 1.19+ runtime/internal/syscall.Syscall6 (later internal/runtime/syscall/linux):
// the hook-free core; the callers in es_hooks.c do entersyscall/exitsyscall around it.
GO_STUB es_Syscall6_core, 6, 0

// rawSyscallNoError: no errno test at all; r1 = RAX, r2 = RDX, err = 0.
	.globl	es_rawSyscallNoError
	.type	es_rawSyscallNoError, @function
es_rawSyscallNoError:
	.cfi_startproc
	pushq	%rbx
	.cfi_def_cfa_offset 16
	.cfi_offset %rbx, -16
	movq	%rdi, %rbx
	LOAD_ARGS3
	syscall
	STORE_RAW
	movq	$0, %rcx
	STORE_RESULTS
	popq	%rbx
	.cfi_def_cfa_offset 8
	ret
	.cfi_endproc
	.size	es_rawSyscallNoError, .-es_rawSyscallNoError

// es_map: the mapping alone, on (raw_rax, raw_rdx) of the block; no system call.
	.globl	es_map
	.type	es_map, @function
es_map:
	.cfi_startproc
	movq	ES_OFF_RAW_RAX(%rdi), %rax
	movq	ES_OFF_RAW_RDX(%rdi), %rdx
	GO_ERRNO_MAP
	movq	%rax, ES_OFF_R1(%rdi)
	movq	%rdx, ES_OFF_R2(%rdi)
	movq	%rcx, ES_OFF_ERR(%rdi)
	ret
	.cfi_endproc
	.size	es_map, .-es_map

	.section .note.GNU-stack,"",@progbits
