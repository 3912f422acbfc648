#!/usr/bin/env node
// A committed bin file, so pnpm can link the command before the first build (bin pointing at
// dist/ made every install warn that the file does not exist). It only loads the built CLI.
import '../dist/cli.js';
