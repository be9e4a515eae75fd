// Drives glmv serve with the official npm "openai" client. Run by
// TestOpenAINodeClient (server/clients/node_test.go) with GLMV_BASE_URL,
// GLMV_API_KEY and GLMV_IMAGE (a data: URL) set and NODE_PATH pointing at a
// node_modules folder that holds "openai".
'use strict';
const { OpenAI } = require('openai');
const assert = require('node:assert/strict');

const client = new OpenAI({ baseURL: process.env.GLMV_BASE_URL, apiKey: process.env.GLMV_API_KEY, maxRetries: 0 });
const image = process.env.GLMV_IMAGE;
const demo = {
  model: 'tiny',
  max_tokens: 12,
  chat_template_kwargs: { enable_thinking: false },
  messages: [
    { role: 'system', content: 'You are a tiny test model.' },
    { role: 'user', content: [{ type: 'image_url', image_url: { url: image } }, { type: 'text', text: 'What is in the image?' }] },
  ],
};

async function main() {
  // image, whole
  const whole = await client.chat.completions.create(demo);
  assert.ok(whole.choices[0].message.content.startsWith('_<|unused_298|>M_'), whole.choices[0].message.content);
  assert.equal(whole.usage.prompt_tokens, 95);
  assert.equal(whole.usage.completion_tokens, 12);

  // plain text
  const plain = await client.chat.completions.create({ model: 'tiny', max_tokens: 4, messages: [{ role: 'user', content: 'hello' }] });
  assert.equal(plain.choices[0].message.role, 'assistant');

  // streamed with usage
  const stream = await client.chat.completions.create({ ...demo, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.choices.length > 0 && chunk.choices[0].delta.content) text += chunk.choices[0].delta.content;
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, whole.choices[0].message.content);
  assert.equal(usage.completion_tokens, 12);

  // logprobs
  const lp = await client.chat.completions.create({ ...demo, logprobs: true, top_logprobs: 2 });
  assert.equal(lp.choices[0].logprobs.content.length, 12);
  assert.equal(lp.choices[0].logprobs.content[0].top_logprobs.length, 2);

  // tools: a call and its result go back to the model. (The assistant turn
  // leaves content out: the demo model's toy template iterates a non-string
  // content, so null fails there exactly as it does in Python Jinja.)
  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  const round = await client.chat.completions.create({
    model: 'tiny', max_tokens: 4, tools,
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
    ],
  });
  assert.ok(round.usage.prompt_tokens > 0);

  // tool_choice: required, a named function, none (the constraint makes
  // the random-weight model comply)
  const pickTools = [
    { type: 'function', function: { name: 'pick', parameters: { type: 'object', required: ['n', 'color'], additionalProperties: false, properties: { n: { type: 'integer' }, color: { enum: ['red', 'blue'] } } } } },
    { type: 'function', function: { name: 'flip', parameters: { type: 'object', required: ['flag'], properties: { flag: { type: 'boolean' } } } } },
  ];
  for (const [choice, allowed] of [['required', ['pick', 'flip']], [{ type: 'function', function: { name: 'flip' } }, ['flip']], ['none', []]]) {
    const r = await client.chat.completions.create({ ...demo, max_tokens: 300, tools: pickTools, tool_choice: choice });
    const calls = r.choices[0].message.tool_calls || [];
    if (allowed.length === 0) {
      assert.equal(calls.length, 0);
      continue;
    }
    assert.equal(r.choices[0].finish_reason, 'tool_calls');
    assert.ok(calls.length > 0);
    for (const c of calls) {
      assert.ok(allowed.includes(c.function.name), c.function.name);
      JSON.parse(c.function.arguments);
    }
  }

  // response_format json_schema: parsed and validated
  const js = await client.chat.completions.create({
    ...demo, max_tokens: 300, temperature: 1,
    response_format: { type: 'json_schema', json_schema: { name: 'pet', strict: true, schema: { type: 'object', additionalProperties: false, required: ['animal', 'count'], properties: { animal: { enum: ['cat', 'dog'] }, count: { type: 'integer' } } } } },
  });
  const doc = JSON.parse(js.choices[0].message.content);
  assert.deepEqual(Object.keys(doc).sort(), ['animal', 'count']);
  assert.ok(['cat', 'dog'].includes(doc.animal));
  assert.ok(Number.isInteger(doc.count));

  // models
  const model = await client.models.retrieve('tiny');
  assert.equal(model.id, 'tiny');

  // errors
  await assert.rejects(client.models.retrieve('gpt-4o'), (e) => e.status === 404 && e.code === 'model_not_found' && e.param === 'model');
  await assert.rejects(client.chat.completions.create({ ...demo, max_tokens: 0 }), (e) => e.status === 400 && e.param === 'max_tokens');
  await assert.rejects(new OpenAI({ baseURL: process.env.GLMV_BASE_URL, apiKey: 'wrong', maxRetries: 0 }).models.list(), (e) => e.status === 401);
  console.log('ok');
}

main().catch((e) => { console.error(e); process.exit(1); });
