namespace cuifu { int run_cli(int, char**) { return 0; } }
