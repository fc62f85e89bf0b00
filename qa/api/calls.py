"""The four things a program may do, each one library call with its parameters checked
first: ask, search, read an article, list the articles. MCP's tools and the OpenAI-compatible
routes call these and only format; nothing here writes to the corpus."""
from __future__ import annotations

from qa.api.citations import answer_span, citations, passage
from qa.errors import BadQuestion
from qa.question.query import make_query
from qa.records import Answer, Document
from qa.text.wellformed import visible
from qa.web.handlers import MAX_API_K, ask_corpus_first, check_history, check_k, check_mode

MAX_PAGE = 200  # articles per list_articles page
MAX_DOC_IDS = 1000


def check_doc_ids(qa, doc_ids) -> list[str] | None:
    """Article ids to search in: each must be indexed (None: search everything)."""
    if doc_ids is None or doc_ids == []:
        return None
    if isinstance(doc_ids, str) or not isinstance(doc_ids, (list, tuple)) or not all(isinstance(d, str) for d in doc_ids):
        raise BadQuestion("article_ids must be a list of article ids as text; list them with list_articles.")
    if len(doc_ids) > MAX_DOC_IDS:
        raise BadQuestion(f"{len(doc_ids)} article ids given; give at most {MAX_DOC_IDS}.")
    known = qa.data().documents
    unknown = [d for d in doc_ids if d not in known]
    if unknown:
        raise BadQuestion(f"No article has the id {visible(unknown[0])[:80]!r}; list the ids with list_articles.")
    return list(dict.fromkeys(doc_ids))


def ask(qa, question, history=None, k=5, mode="hybrid", doc_ids=None) -> Answer:
    """``QA.ask`` as the chat asks it (the operator's articles before uploads; a follow-up
    read after the earlier questions ``history``, oldest first)."""
    query = make_query(question)
    return ask_corpus_first(qa, query, check_k(k, MAX_API_K), check_mode(mode), check_doc_ids(qa, doc_ids),
                            check_history(history))


def ask_result(answer: Answer) -> dict:
    """What the ``ask`` tool returns."""
    return {"question": answer.question, **({"asked": answer.asked} if answer.asked and answer.asked != answer.question else {}),
            "answered": answer.answered, "answer": answer_span(answer), "citations": citations(answer)}


def search(qa, query, k=5, mode="hybrid", doc_ids=None) -> dict:
    """The passages ``QA.retrieve`` finds, best first, each a citation; nothing is read."""
    found = qa.retrieve(make_query(query), check_k(k, MAX_API_K), check_mode(mode), check_doc_ids(qa, doc_ids))
    return {"query": found.query.text, "passages": [passage(h) for h in found.hits]}


def _meta(doc: Document) -> dict:
    return {"doc_id": doc.id, "title": doc.title, "outlet": doc.source, "date": doc.date, "url": doc.url,
            "author": doc.author, "chars": len(doc.text)}


def get_article(qa, doc_id) -> dict:
    """One article's text (the text every citation's start and end count in) and metadata."""
    if not isinstance(doc_id, str) or not doc_id.strip():
        raise BadQuestion("Give the article's id as text, e.g. one list_articles returns.")
    doc = qa.data().documents.get(doc_id)
    if doc is None:
        raise BadQuestion(f"No article has the id {visible(doc_id)[:80]!r}; list the ids with list_articles.")
    return {**_meta(doc), "text": doc.text}


def list_articles(qa, offset=0, limit=50) -> dict:
    """One page of the indexed articles' metadata, in index order."""
    for name, value, low in (("offset", offset, 0), ("limit", limit, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise BadQuestion(f"{name} must be a whole number of at least {low}.")
    if limit > MAX_PAGE:
        raise BadQuestion(f"limit is {limit}; give at most {MAX_PAGE} and page with offset.")
    documents = qa.documents()
    page = documents[offset:offset + limit]
    following = offset + len(page)
    return {"total": len(documents), "offset": offset, "articles": [_meta(d) for d in page],
            "next_offset": following if following < len(documents) else None}
