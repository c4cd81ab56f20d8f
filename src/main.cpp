#include "app/cli.h"

int main(int argc, char** argv) {
  return cuifu::run_cli(argc, argv);
}
