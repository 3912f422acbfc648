import type { Logger } from '@tether/protocol';
import { type ModelClientConfig, ResponsesClient } from '../client.js';
import type { StreamTranslator } from '../translate.js';
import type { ResponsesRequest } from '../types.js';
import { chatRequestBody } from './request.js';
import { ChatStreamTranslator } from './stream.js';

/**
 * A streaming client for the Chat Completions API (`POST {baseUrl}/chat/completions` with
 * `stream: true`), for servers that speak only that one (vLLM, Ollama, llama.cpp's server, most
 * gateways). It takes the same requests and yields the same events as `ResponsesClient`, with the
 * same timeouts, retries and `ModelError`s; only the body sent and the stream read differ.
 */
export class ChatCompletionsClient extends ResponsesClient {
  constructor(config: ModelClientConfig, logger?: Logger) {
    super(config, logger);
  }

  protected override endpoint(): string {
    return 'chat/completions';
  }

  protected override translator(logger: Logger): StreamTranslator {
    return new ChatStreamTranslator(logger);
  }

  protected override requestBody(request: ResponsesRequest): Record<string, unknown> {
    return chatRequestBody(request, this.model);
  }
}
