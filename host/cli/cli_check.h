/* The parse and validate halves of subcommands, without their work: each
 * returns the exit status the command would stop with before doing any
 * work (0 when it would start; its one error line printed for a usage
 * error, recorded with gpd_error for a bad value or input). For tests and
 * the command-line fuzzer (tests/fuzz/fuzz_cli.c); `eval` and `sweep`
 * have gpd_cli_eval_parse (cli_eval.h). */
#ifndef GPD_CLI_CHECK_H
#define GPD_CLI_CHECK_H

int gpd_cmd_deblur_check(int argc, char **argv);
int gpd_cmd_train_check(int argc, char **argv);
int gpd_cmd_info_check(int argc, char **argv);
int gpd_cmd_evalgen_check(int argc, char **argv);

#endif
