import type { CustomTool, FunctionTool } from '../model/index.js';

export const APPLY_PATCH_TOOL_NAME = 'apply_patch';

/**
 * How the model is offered `apply_patch`: `freeform` as a custom tool whose input is the patch
 * itself, constrained by {@link APPLY_PATCH_GRAMMAR} (models that accept custom tools: the GPT-5
 * family and the Codex models); `function` as a JSON function tool with one `input` string (any
 * other OpenAI-compatible model).
 */
export type ApplyPatchToolType = 'freeform' | 'function';

/**
 * The patch format as a Lark grammar, for the API to constrain the model's freeform input. It
 * describes what the parser reads (see `parser.ts`): the envelope, the three file operations, an
 * optional move, and change lines grouped under `@@` lines, the first of which may be left out.
 */
export const APPLY_PATCH_GRAMMAR = `start: "*** Begin Patch" NL operation+ "*** End Patch" NL?

operation: create | remove | modify
create: "*** Add File: " PATH NL new_line+
remove: "*** Delete File: " PATH NL
modify: "*** Update File: " PATH NL rename? edits?
rename: "*** Move to: " PATH NL

edits: (locator | edit_line)+ last_lines?
locator: "@@" NL | "@@ " TEXT NL
edit_line: EDIT_MARK REST NL
new_line: "+" REST NL
last_lines: "*** End of File" NL

EDIT_MARK: " " | "-" | "+"
PATH: /[^\\n]+/
TEXT: /[^\\n]+/
REST: /[^\\n]*/
NL: "\\n"
`;

/** The custom (freeform) tool. */
export const APPLY_PATCH_FREEFORM_TOOL: CustomTool = {
  type: 'custom',
  name: APPLY_PATCH_TOOL_NAME,
  description:
    'Edits files with a patch. This is a FREEFORM tool: send the patch text itself, not JSON. Start with `*** Begin Patch` and end with `*** End Patch`; in between, `*** Add File: <path>` followed by `+` lines, `*** Delete File: <path>`, or `*** Update File: <path>` (optionally followed by `*** Move to: <new path>`) with `@@` sections of ` ` context, `-` removed and `+` added lines. Paths are relative to the working directory.',
  format: { type: 'grammar', syntax: 'lark', definition: APPLY_PATCH_GRAMMAR },
};

/** The function tool, for models without custom tools: the patch goes in `input`. */
export const APPLY_PATCH_FUNCTION_TOOL: FunctionTool = {
  type: 'function',
  name: APPLY_PATCH_TOOL_NAME,
  description: `Edits files with a patch in this format (the whole patch goes in \`input\`):

*** Begin Patch
*** Add File: <path>
+<each line of the new file>
*** Delete File: <path>
*** Update File: <path>
*** Move to: <new path>        (optional: renames the file)
@@ <a line near the change, such as the enclosing function>        (or a bare @@)
 <unchanged context line>
-<removed line>
+<added line>
*** End of File        (optional: the lines above end the file)
*** End Patch

Show about three lines of context before and after each change, prefix every line of a new file with +, and use paths relative to the working directory.`,
  strict: false,
  parameters: {
    type: 'object',
    properties: {
      input: {
        type: 'string',
        description: 'The whole patch, from *** Begin Patch to *** End Patch.',
      },
    },
    required: ['input'],
    additionalProperties: false,
  },
};

/**
 * The reference's choice for a model it knows: every model of its catalogue takes the freeform
 * tool, and those are the GPT-5 family (and later) and the Codex models.
 */
export function applyPatchToolTypeFor(model: string): ApplyPatchToolType {
  const name = model.toLowerCase().split('/').at(-1) ?? '';
  return /^gpt-([5-9]|\d{2,})/.test(name) || name.includes('codex') ? 'freeform' : 'function';
}

/** The tool definition for a type. */
export function applyPatchTool(type: ApplyPatchToolType): CustomTool | FunctionTool {
  return type === 'freeform' ? APPLY_PATCH_FREEFORM_TOOL : APPLY_PATCH_FUNCTION_TOOL;
}

/** The patch of a function call's JSON arguments; the error is what the model is told. */
export function patchFromArguments(raw: string): { patch: string } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return { error: `failed to parse function arguments: ${(error as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: 'failed to parse function arguments: expected an object' };
  }
  const input: unknown = (value as { input?: unknown }).input;
  if (typeof input !== 'string') {
    return { error: 'failed to parse function arguments: missing field `input`' };
  }
  return { patch: input };
}
