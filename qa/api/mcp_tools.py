"""zhqa's MCP tools, defined once and served over both transports: Streamable HTTP at
``/mcp`` of the chat server (``qa.api.server``) and stdio (``qa mcp``).

``ask``, ``search``, ``get_article`` and ``list_articles``, each a thin layer over
``qa.api.calls``. A tool a client cannot use (an unknown name, an argument the tool does not
take, a value of the wrong kind, a question the corpus cannot be asked) is a tool error of
one sentence; nothing a tool does writes to the corpus."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp_types import ToolAnnotations
from pydantic import Field, ValidationError

from qa.api import calls
from qa.api.gate import Busy, Gate
from qa.errors import ZhqaError
from qa.text.wellformed import visible

CITING = (" The extracts are copied verbatim from the articles: each citation's text is exactly characters [start, end) "
          "of the article doc_id (get_article returns that text). Quote an extract as it is and cite it by title, outlet, "
          "date and URL; do not reword it as a quotation. "
          "摘录逐字取自原文：每条引用的 text 恰为文章 doc_id 全文（get_article 返回）中 [start, end) 的字符。"
          "引用时请原样引用摘录，并注明标题、媒体、日期与网址，不要改写后当作引文。")
SERVER_INSTRUCTIONS = ("zhqa answers questions about a collection of Chinese news articles with extracts copied verbatim from "
                       "them, or says that the articles hold no answer. zhqa 用新闻原文的逐字摘录回答关于这些中文新闻的问题；"
                       "没有答案时如实说明。" + CITING)
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)

Mode = Literal["hybrid", "dense", "bm25"]
Question = Annotated[str, Field(description="The question, in Chinese or English. 问题（中文或英文）。")]
History = Annotated[list[str] | None, Field(
    description="The earlier questions of the conversation, oldest first, as typed; a follow-up such as 他的妻子是做什么的？ is "
                "read after them. 对话中之前的问题（按时间先后，原样）；追问据此理解。")]
K = Annotated[int, Field(description="How many passages to retrieve (1-50). 检索的段落数。")]
ModeArg = Annotated[Mode, Field(description="Retrieval: hybrid (default), dense or bm25. 检索方式。")]
ArticleIds = Annotated[list[str] | None, Field(
    description="Only search these articles (ids from list_articles); empty: all. 只在这些文章中检索。")]


class ToolServer(MCPServer):
    """MCPServer whose refusals are one sentence each: an unknown tool or argument is
    named, a value of the wrong kind says which argument and what it must be."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context=None):
        tools = {t.name: t for t in await self.list_tools()}
        if name not in tools:
            raise ToolError(f"There is no tool {visible(str(name))[:60]!r}; the tools are {', '.join(tools)}.")
        takes = tools[name].input_schema.get("properties", {})
        unknown = [a for a in arguments or {} if a not in takes]
        if unknown:
            raise ToolError(f"The tool {name} takes no argument {visible(str(unknown[0]))[:60]!r}; "
                            f"it takes {', '.join(takes) or 'none'}.")
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:  # logged with its traceback by the SDK; the client gets one sentence
            raise ToolError(f"The tool {name} failed unexpectedly; the server keeps running: try again, or report it.") from None
        except ToolError as exc:
            if isinstance(exc.__cause__, ToolError):  # our own sentence, without the SDK's "Error executing tool" prefix
                raise ToolError(str(exc.__cause__)) from None
            if isinstance(exc.__cause__, ValidationError):
                error = exc.__cause__.errors()[0]
                where = ".".join(str(p) for p in error.get("loc", ())) or "the arguments"
                raise ToolError(f"Argument {where} of {name} is not valid: {error.get('msg', 'wrong kind of value')}.") from None
            raise


def tools(qa, gate: Gate | None = None, name: str = "zhqa") -> ToolServer:
    """The four tools over ``qa``, each question run through ``gate``."""
    gate = gate or Gate()
    server = ToolServer(name, title="zhqa · 中文新闻问答", instructions=SERVER_INSTRUCTIONS, log_level="WARNING")

    async def run(fn, *args):
        try:
            return await gate.run(fn, qa, *args)
        except (ZhqaError, Busy) as exc:
            raise ToolError(str(exc)) from None

    @server.tool(annotations=READ_ONLY, description=(
        "Answer a question from the news articles: the answer span, whether the articles answered it at all, and the "
        "cited extracts (doc id, title, outlet, date, URL, character start and end, text, score); [n] in the answer is "
        "citation n. 根据新闻回答问题：返回答案、语料是否有答案（answered）以及引用的摘录。" + CITING))
    async def ask(question: Question, history: History = None, k: K = 5, mode: ModeArg = "hybrid",
                  article_ids: ArticleIds = None) -> dict[str, Any]:
        answer = await run(calls.ask, question, history, k, mode, article_ids)
        return calls.ask_result(answer)

    @server.tool(annotations=READ_ONLY, description=(
        "Search the news articles: the passages that best match, best first, each with its citation (doc id, title, "
        "outlet, date, URL, start, end, text, score); nothing is read or answered. 检索新闻段落（不作答），按相关度排序，"
        "每段附引用信息。" + CITING))
    async def search(query: Question, k: K = 5, mode: ModeArg = "hybrid", article_ids: ArticleIds = None) -> dict[str, Any]:
        return await run(calls.search, query, k, mode, article_ids)

    @server.tool(annotations=READ_ONLY, description=(
        "One article's full text and metadata (title, outlet, date, URL, author) by its id; citations count characters "
        "in this text. 按 id 获取文章全文与元数据；引用的 start、end 即按此全文计数。"))
    async def get_article(doc_id: Annotated[str, Field(description="The article's id. 文章 id。")]) -> dict[str, Any]:
        return await run(calls.get_article, doc_id)

    @server.tool(annotations=READ_ONLY, description=(
        "List the indexed articles (id, title, outlet, date, URL, length), one page at a time; next_offset is null on "
        "the last page. 分页列出已索引的文章。"))
    async def list_articles(offset: Annotated[int, Field(description="Articles to skip. 跳过的篇数。")] = 0,
                            limit: Annotated[int, Field(description=f"Articles per page (1-{calls.MAX_PAGE}). 每页篇数。")] = 50
                            ) -> dict[str, Any]:
        return await run(calls.list_articles, offset, limit)

    return server
