from django.urls import path

from cms import views

urlpatterns = [
    path("search/", views.search, name="search"),
    path("polls/<int:page_id>/<str:block_id>/vote/", views.poll_vote, name="poll_vote"),
    path("pages/<int:page_id>/comments/", views.page_comment_create, name="page_comment_create"),
]
